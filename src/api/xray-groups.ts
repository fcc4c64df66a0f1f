import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { z } from 'zod';
import { DEFAULT_GROUP } from '../insights/build.js';
import { invalidRequest } from './aws-error.js';

/** Where our groups say they live: the region and account in their ARNs. */
export interface GroupIdentity {
  region: string;
  accountId: string;
}

/**
 * The Default group's ARN. X-Ray ends group ARNs with a generated id; ours is derived from the region and
 * account, so it is the same on every server and across restarts.
 */
export function defaultGroupArn(id: GroupIdentity): string {
  const suffix = createHash('sha256').update(`${id.region}\n${id.accountId}\n${DEFAULT_GROUP}`).digest('hex').slice(0, 24).toUpperCase();
  return `arn:aws:xray:${id.region}:${id.accountId}:group/${DEFAULT_GROUP}/${suffix}`;
}

/** X-Ray's Group / GroupSummary for the Default group: every trace, insights and notifications on. */
export function defaultGroup(id: GroupIdentity) {
  return {
    GroupName: DEFAULT_GROUP,
    GroupARN: defaultGroupArn(id),
    InsightsConfiguration: { InsightsEnabled: true, NotificationsEnabled: true },
  };
}

/**
 * Resolves a request's GroupName / GroupARN to the one group we have. Neither given means Default (what
 * GetServiceGraph does too); a name or ARN of any other group is an error, the answer X-Ray gives for a
 * group that does not exist.
 */
export function resolveGroup(id: GroupIdentity, q: { GroupName?: string; GroupARN?: string }): { ok: true; name: string } | { ok: false; message: string } {
  const arn = defaultGroupArn(id);
  if (q.GroupName !== undefined && q.GroupName !== DEFAULT_GROUP) return { ok: false, message: `Group ${q.GroupName} not found (only the ${DEFAULT_GROUP} group exists)` };
  if (q.GroupARN !== undefined && q.GroupARN !== arn) return { ok: false, message: `Group ${q.GroupARN} not found (the ${DEFAULT_GROUP} group is ${arn})` };
  return { ok: true, name: DEFAULT_GROUP };
}

const getGroupSchema = z.object({ GroupName: z.string().min(1).max(32).optional(), GroupARN: z.string().min(1).max(400).optional() });
const getGroupsSchema = z.object({ NextToken: z.string().min(1).max(100).optional() });

const issues = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

/** GetGroups and GetGroup: the Default group (groups with filter expressions are not supported yet). */
export function groupRoutes(app: Hono, id: GroupIdentity): void {
  app.post('/Groups', async (c) => {
    const body = getGroupsSchema.safeParse((await c.req.json().catch(() => null)) ?? {});
    if (!body.success) return invalidRequest(c, issues(body.error));
    // one group: there is never a next page, whatever token comes in
    return c.json({ Groups: [defaultGroup(id)] });
  });

  app.post('/GetGroup', async (c) => {
    const body = getGroupSchema.safeParse((await c.req.json().catch(() => null)) ?? {});
    if (!body.success) return invalidRequest(c, issues(body.error));
    if (body.data.GroupName === undefined && body.data.GroupARN === undefined) return invalidRequest(c, 'GroupName or GroupARN is required');
    const g = resolveGroup(id, body.data);
    if (!g.ok) return invalidRequest(c, g.message);
    return c.json({ Group: defaultGroup(id) });
  });
}
