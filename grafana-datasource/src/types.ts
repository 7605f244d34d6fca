import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** A panel's query: queryType is the collector's metric; the rest are its parameters (the query API's). */
export interface InsightsQuery extends DataQuery {
  /** hour, day, week, month, quarter, year, or auto (from the panel's interval) */
  interval?: string;
  /** the IANA zone of the buckets (default: the dashboard's) */
  timezone?: string;
  /** filter name → values; values may be template variables ($team), multi-value ones included */
  filters?: Record<string, string[]>;
  groupBy?: string[];
  lens?: string;
  limit?: number;
  compare?: string;
  /** auto (a time series when the answer has a time column and the metric buckets by time), table or timeseries */
  format?: 'auto' | 'table' | 'timeseries';
  /** the metric's own objects (funnel steps, paths, a forecast's series, an experiment's goal) */
  funnel?: object;
  paths?: object;
  series?: object;
  goal?: object;
}

export const DEFAULT_QUERY: Partial<InsightsQuery> = {
  queryType: 'active_users',
  interval: 'auto',
  format: 'auto',
};

/** The metric parameter objects a metric may take (MetricInfo.parameters). */
export type Parameter = 'funnel' | 'paths' | 'series' | 'goal';

/** A metric as GET /api/v1/metrics describes it. */
export interface MetricInfo {
  name: string;
  description: string;
  interval: 'none' | 'optional' | 'required';
  time_range: boolean;
  filters: string[];
  group_by: string[];
  columns: Array<{ name: string; type: string; unit?: string; description?: string }>;
  role: string;
  intervals?: string[];
  lenses?: string[];
  parameters?: Parameter[];
}

export interface MetricListing {
  metrics: MetricInfo[];
  intervals: string[];
  k_anonymity: number;
}

/** A template variable's query: which dimension's values. */
export interface VariableQuery {
  dimension: 'plugin' | 'team' | 'instance' | 'experiment';
}

/** The data source's settings (jsonData); the URL is the data source's own. */
export interface InsightsOptions extends DataSourceJsonData {
  timeoutSeconds?: number;
  cacheSeconds?: number;
  tlsSkipVerify?: boolean;
}

/** Sent to the backend only. */
export interface InsightsSecureJsonData {
  token?: string;
}
