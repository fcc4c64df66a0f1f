/**
 * Trace search (X-Ray filter expressions) and the waterfall of one trace go here once the trace API
 * (POST /TraceSummaries, /Traces, /TraceGraph) settles; the routes are already reserved.
 */
export function TracesPage(props: { id?: string }) {
  return (
    <main>
      <h1>{props.id ? `Trace ${props.id}` : 'Traces'}</h1>
      <p class="empty">Trace search and the trace waterfall are not in the console yet. Meanwhile the X-Ray API on this port answers them: <code>GetTraceSummaries</code> (POST /TraceSummaries) and <code>BatchGetTraces</code> (POST /Traces).</p>
    </main>
  );
}
