/**
 * Ctrl-C / SIGTERM for a batch command (replay, eval): the first one aborts `signal`, so the command
 * stops its work and cleans up; a second one exits 130 at once. `release()` removes the handlers.
 */
export function interruptible(name: string, onFirst?: () => void): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    onFirst?.();
    console.error(`${name}: ${sig}, stopping (again to quit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
