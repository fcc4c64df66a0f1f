import type { Hono } from 'hono';

/**
 * The daemon's TCP side answers the SDKs' centralized-sampling calls on the same port (reference §3.2,
 * §6.2). We have no rule store: we serve X-Ray's default rule (1 request/s + 5 %) and let every client
 * borrow, so SDKs pointed at us behave exactly as with the default rule instead of logging errors.
 */
export function samplingRoutes(app: Hono, now: () => number): void {
  app.post('/GetSamplingRules', (c) =>
    c.json({
      SamplingRuleRecords: [
        {
          SamplingRule: {
            RuleName: 'Default',
            RuleARN: 'arn:aws:xray:local::sampling-rule/Default',
            ResourceARN: '*',
            Priority: 10000,
            FixedRate: 0.05,
            ReservoirSize: 1,
            ServiceName: '*',
            ServiceType: '*',
            Host: '*',
            HTTPMethod: '*',
            URLPath: '*',
            Version: 1,
            Attributes: {},
          },
          CreatedAt: 0,
          ModifiedAt: 0,
        },
      ],
    }),
  );
  app.post('/SamplingTargets', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { SamplingStatisticsDocuments?: Array<{ RuleName?: string }> };
    const t = Math.floor(now());
    const names = [...new Set((body.SamplingStatisticsDocuments ?? []).map((d) => d.RuleName).filter(Boolean))];
    return c.json({
      SamplingTargetDocuments: names.map((RuleName) => ({ RuleName, FixedRate: 0.05, ReservoirQuota: 1, ReservoirQuotaTTL: t + 10, Interval: 10 })),
      LastRuleModification: 0,
      UnprocessedStatistics: [],
    });
  });
}
