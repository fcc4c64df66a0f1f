import { z } from 'zod';
import type { InsightEvent } from '../insights/model.js';

export const EVENT_TYPES = ['insight.opened', 'insight.updated', 'insight.closed'] as const;

/** Payload shapes: the insight event as replay writes it, or the EventBridge event X-Ray emits. */
export const FORMATS = ['insight-event', 'eventbridge'] as const;
export type Format = (typeof FORMATS)[number];

const names = z.array(z.string().min(1).max(256)).max(100);

/** Which events a subscription receives; an absent or empty list matches everything. */
export const filtersSchema = z
  .object({
    eventTypes: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).optional(),
    groups: names.optional(),
    categories: names.optional(),
    /** matches when the insight names one of these as root cause, impacted or top anomalous service */
    services: names.optional(),
  })
  .strict();
export type Filters = z.infer<typeof filtersSchema>;

export const createBodySchema = z
  .object({
    url: z.string().min(1).max(2048),
    description: z.string().max(512).optional(),
    filters: filtersSchema.optional(),
    format: z.enum(FORMATS).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type CreateBody = z.infer<typeof createBodySchema>;

export const updateBodySchema = createBodySchema.partial().strict();
export type UpdateBody = z.infer<typeof updateBodySchema>;

export type DisabledReason = 'manual' | 'gone' | 'failures';

/** A subscription as stored (the secret included: it is needed to sign). */
export interface Subscription {
  id: string;
  url: string;
  description: string;
  filters: Filters;
  format: Format;
  status: 'active' | 'disabled';
  disabledReason: DisabledReason | null;
  /** epoch ms */
  disabledAt: number | null;
  /** dead-lettered deliveries since the last success */
  consecutiveFailures: number;
  secret: string;
  /** the secret before the last rotation, still signing until `previousSecretUntil` */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What the API shows: everything but the secrets. */
export interface SubscriptionView {
  id: string;
  url: string;
  description: string;
  filters: Filters;
  format: Format;
  enabled: boolean;
  disabledReason: DisabledReason | null;
  disabledAt: string | null;
  consecutiveFailures: number;
  createdAt: string;
  updatedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function view(s: Subscription): SubscriptionView {
  return {
    id: s.id,
    url: s.url,
    description: s.description,
    filters: s.filters,
    format: s.format,
    enabled: s.status === 'active',
    disabledReason: s.disabledReason,
    disabledAt: s.disabledAt === null ? null : iso(s.disabledAt),
    consecutiveFailures: s.consecutiveFailures,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

const any = (want: readonly string[] | undefined) => !want || want.length === 0;

/** Does this event pass the filters? Categories compare case-insensitively. */
export function matches(f: Filters, e: InsightEvent): boolean {
  if (!any(f.eventTypes) && !f.eventTypes!.includes(e.type)) return false;
  if (!any(f.groups) && !f.groups!.includes(e.insight.groupName)) return false;
  if (!any(f.categories)) {
    const cats = new Set(e.insight.categories.map((c) => c.toUpperCase()));
    if (!f.categories!.some((c) => cats.has(c.toUpperCase()))) return false;
  }
  if (!any(f.services)) {
    const i = e.insight;
    const named = new Set([...i.rootCauseCandidates.map((c) => c.service.name), ...i.impactedServices.map((s) => s.name), ...i.topAnomalousServices.map((s) => s.name)]);
    if (!f.services!.some((s) => named.has(s))) return false;
  }
  return true;
}
