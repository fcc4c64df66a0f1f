import { z } from 'zod';
import { ENTITY_ID_RE, EXCEPTION_ID_LENGTH, TRACE_ID_RE } from './ids.js';

/**
 * zod schemas for X-Ray segment and subsegment documents (reference §1). Every documented field is
 * typed; unknown fields are kept (looseObject), since producers add their own and X-Ray keeps them too.
 */

const id = z.string().regex(ENTITY_ID_RE, 'must be 16 hex characters');
const traceId = z.string().regex(TRACE_ID_RE, 'must look like 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx');
/** Epoch seconds between 2000-01-01 and 2100-01-01: guards against ms timestamps and garbage. */
const epoch = z.number().min(946684800, 'is before the year 2000 (epoch seconds expected)').max(4102444800, 'is after the year 2100');
const str = z.string().max(10_000);

const stackFrame = z.looseObject({
  path: str.optional(),
  line: z.number().int().nullable().optional(),
  label: str.optional(),
});

const exception = z.looseObject({
  id,
  message: str.optional(),
  type: str.optional(),
  remote: z.boolean().optional(),
  truncated: z.number().int().optional(),
  skipped: z.number().int().optional(),
  cause: z.string().optional(),
  stack: z.array(stackFrame).optional(),
});

/**
 * A cause given as a string names an exception recorded elsewhere: X-Ray documents it as a 16-character
 * exception id, not as hex, so any 16 characters pass (code points, as zod counts every string here).
 */
const exceptionIdRef = z.string().length(EXCEPTION_ID_LENGTH, `must be a ${EXCEPTION_ID_LENGTH}-character exception id`);

const cause = z.union(
  [
    exceptionIdRef,
    z.looseObject({
      working_directory: str.optional(),
      paths: z.array(str).optional(),
      exceptions: z.array(exception).optional(),
    }),
  ],
  { error: `must be a ${EXCEPTION_ID_LENGTH}-character exception id or an object with exceptions` },
);

const http = z.looseObject({
  request: z
    .looseObject({
      method: str.optional(),
      url: str.optional(),
      user_agent: str.optional(),
      client_ip: str.optional(),
      x_forwarded_for: z.boolean().optional(),
      traced: z.boolean().optional(),
    })
    .optional(),
  response: z
    .looseObject({
      status: z.number().int().min(0).max(999).optional(),
      // producers sometimes send a string (reference §8 quirk 5)
      content_length: z.union([z.number(), z.string()]).optional(),
    })
    .optional(),
});

const awsData = z.looseObject({
  account_id: str.optional(),
  operation: str.optional(),
  region: str.optional(),
  request_id: str.optional(),
  queue_url: str.optional(),
  table_name: str.optional(),
  table_names: z.array(str).optional(),
  resource_names: z.array(str).optional(),
  retries: z.number().optional(),
  function_name: str.optional(),
  topic_arn: str.optional(),
  status_code: z.number().optional(),
  cloudwatch_logs: z.array(z.looseObject({ log_group: str.optional(), arn: str.optional() })).optional(),
  ec2: z.looseObject({}).optional(),
  ecs: z.looseObject({}).optional(),
  eks: z.looseObject({}).optional(),
  elastic_beanstalk: z.looseObject({ deployment_id: z.number().optional() }).optional(),
  xray: z.looseObject({ auto_instrumentation: z.boolean().optional(), sdk_version: str.optional(), sdk: str.optional() }).optional(),
});

const sql = z.looseObject({
  connection_string: str.optional(),
  url: str.optional(),
  sanitized_query: str.optional(),
  database_type: str.optional(),
  database_version: str.optional(),
  driver_version: str.optional(),
  user: str.optional(),
  preparation: str.optional(),
});

const annotationKey = z.string().min(1).max(500);
const annotationValue = z.union([z.string().max(10_000), z.number(), z.boolean()], { error: 'must be a string, number or boolean' });
const annotationRecord = z.record(annotationKey, annotationValue);
/**
 * z.record passes over an own `__proto__` key without looking at its value (it builds its output on a
 * plain `{}`, where assigning that key would replace the prototype), so `{"__proto__": {}}` would pass.
 * JSON.parse makes it an ordinary own property: judge its value here, before the record judges the rest.
 */
const annotations = z
  .unknown()
  .check((ctx) => {
    const v = ctx.value;
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, '__proto__')) return;
    const r = annotationValue.safeParse(Object.getOwnPropertyDescriptor(v, '__proto__')!.value);
    for (const issue of r.error?.issues ?? []) ctx.issues.push({ code: 'custom', message: issue.message, input: v, path: ['__proto__', ...issue.path] });
  })
  .pipe(annotationRecord);
const metadata = z.record(z.string(), z.unknown());

/** Fields shared by segments and subsegments. */
const entityFields = {
  id,
  name: z.string().min(1, 'must not be empty').max(250),
  start_time: epoch,
  end_time: epoch.optional(),
  in_progress: z.boolean().optional(),
  trace_id: traceId.optional(),
  parent_id: id.optional(),
  error: z.boolean().optional(),
  throttle: z.boolean().optional(),
  fault: z.boolean().optional(),
  cause: cause.optional(),
  http: http.optional(),
  aws: awsData.optional(),
  annotations: annotations.optional(),
  metadata: metadata.optional(),
};

/** A downstream call's kind (reference §1.3): absent for local work; nothing else is documented. */
const namespace = z.enum(['aws', 'remote'], { error: 'must be "aws" or "remote" (or absent, for local work)' });

export interface SubsegmentDoc extends z.infer<z.ZodObject<typeof entityFields>> {
  type?: 'subsegment';
  namespace?: z.infer<typeof namespace>;
  sql?: z.infer<typeof sql>;
  precursor_ids?: string[];
  traced?: boolean;
  subsegments?: SubsegmentDoc[];
  [k: string]: unknown;
}

export const subsegmentSchema: z.ZodType<SubsegmentDoc> = z.lazy(() =>
  z.looseObject({
    ...entityFields,
    type: z.literal('subsegment').optional(),
    namespace: namespace.optional(),
    sql: sql.optional(),
    precursor_ids: z.array(id).optional(),
    traced: z.boolean().optional(),
    subsegments: z.array(subsegmentSchema).optional(),
  }),
) as z.ZodType<SubsegmentDoc>;

export const segmentSchema = z.looseObject({
  ...entityFields,
  trace_id: traceId,
  service: z.looseObject({ version: str.optional() }).optional(),
  user: str.optional(),
  origin: z.string().max(250).optional(),
  resource_arn: str.optional(),
  links: z.array(z.looseObject({ trace_id: traceId.optional(), id: id.optional() })).optional(),
  inferred: z.boolean().optional(),
  subsegments: z.array(subsegmentSchema).optional(),
});

export type SegmentDoc = z.infer<typeof segmentSchema>;

/** An independent subsegment: sent alone, so it names its trace and parent. */
export const independentSubsegmentSchema = z.looseObject({
  ...entityFields,
  type: z.literal('subsegment'),
  trace_id: traceId,
  parent_id: id,
  namespace: namespace.optional(),
  sql: sql.optional(),
  precursor_ids: z.array(id).optional(),
  traced: z.boolean().optional(),
  subsegments: z.array(subsegmentSchema).optional(),
});

export type IndependentSubsegmentDoc = z.infer<typeof independentSubsegmentSchema>;
