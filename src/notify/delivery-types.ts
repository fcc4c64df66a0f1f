/**
 * What a delivery's scripts are given and answer (scripts.ts encodes and decodes them; delivery-store.ts
 * uses them): in a module of their own so that neither imports the other for a type.
 */

export interface NewDelivery {
  id: string;
  subscriptionId: string;
  insightId: string;
  eventKey: string;
  eventType: string;
  eventTime: number;
  test?: boolean;
}

/** A job to add: the head of a group, its round (redeliveries get a new one, so a new job id), what it carries. */
export interface Head {
  id: string;
  round: number;
  subscriptionId: string;
  eventKey: string;
}

export type Outcome = 'delivered' | 'retry' | 'dead' | 'gone' | 'skip';

export interface FinishInput {
  outcome: Outcome;
  /** the job's round: a job of an older round records nothing */
  round: number;
  /** the attempt number within the round (BullMQ's attemptsStarted), when a request was made */
  attempt?: number;
  status?: number | null;
  latencyMs?: number;
  error?: string | null;
  nextAttemptAt?: number;
  reason?: string;
}

export interface FinishResult {
  /** stale: the job's round is not the delivery's; done: it was settled already (nothing recorded) */
  state: 'retrying' | 'delivered' | 'dead' | 'missing' | 'stale' | 'done';
  /** set when this delivery disabled its subscription */
  disabled: 'gone' | 'failures' | null;
  /** attempts of the delivery so far, all rounds */
  attempts: number | null;
  next: Head | null;
  subscriptionId: string | null;
}
