/** X-Ray's trace read shapes, as far as the console reads them. */

export interface XrayServiceId {
  Name?: string;
  Names?: string[];
  Type?: string;
}

export interface XrayTraceSummary {
  Id: string;
  StartTime?: number;
  Duration?: number;
  ResponseTime?: number;
  HasFault?: boolean;
  HasError?: boolean;
  HasThrottle?: boolean;
  IsPartial?: boolean;
  Http?: { HttpURL?: string; HttpStatus?: number; HttpMethod?: string };
  ServiceIds?: XrayServiceId[];
  EntryPoint?: XrayServiceId;
}

export interface TraceSummariesResponse {
  TraceSummaries: XrayTraceSummary[];
  TracesProcessedCount?: number;
  NextToken?: string;
}

export interface BatchGetTracesResponse {
  Traces: Array<{ Id: string; Duration?: number; Segments: Array<{ Id: string; Document: string }> }>;
  UnprocessedTraceIds?: string[];
}

/** The worst outcome a summary reports, in words. */
export function summaryStatus(s: XrayTraceSummary): 'Fault' | 'Throttled' | 'Error' | 'OK' {
  if (s.HasFault) return 'Fault';
  if (s.HasThrottle) return 'Throttled';
  if (s.HasError) return 'Error';
  return 'OK';
}
