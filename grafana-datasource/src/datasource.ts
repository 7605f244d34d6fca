import { CoreApp, DataQueryRequest, DataSourceInstanceSettings, MetricFindValue, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, InsightsOptions, InsightsQuery, MetricListing, VariableQuery } from './types';

export class DataSource extends DataSourceWithBackend<InsightsQuery, InsightsOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<InsightsOptions>) {
    super(instanceSettings);
  }

  getDefaultQuery(_: CoreApp): Partial<InsightsQuery> {
    return DEFAULT_QUERY;
  }

  /** The collector's metric catalogue, for the query editor. */
  getMetrics(): Promise<MetricListing> {
    return this.getResource('metrics');
  }

  /** Buckets follow the dashboard's time zone unless the query names one. */
  query(request: DataQueryRequest<InsightsQuery>) {
    const zone = request.timezone === 'browser' || !request.timezone ? Intl.DateTimeFormat().resolvedOptions().timeZone : request.timezone;
    return super.query({ ...request, targets: request.targets.map((t) => ({ ...t, timezone: t.timezone || zone })) });
  }

  /** Filter values may be template variables; a multi-value one (or All) stands for each of its values. */
  applyTemplateVariables(query: InsightsQuery, scopedVars: ScopedVars): InsightsQuery {
    const filters: Record<string, string[]> = {};
    for (const [name, values] of Object.entries(query.filters ?? {})) {
      const replaced = values.flatMap((v) => getTemplateSrv().replace(v, scopedVars, 'csv').split(','));
      const kept = replaced.map((v) => v.trim()).filter((v) => v !== '');
      if (kept.length > 0) {
        filters[name] = kept;
      }
    }
    return { ...query, filters };
  }

  filterQuery(query: InsightsQuery): boolean {
    return !!query.queryType && !query.hide;
  }

  /** Template variables: the values of a dimension (plugin, team, instance, experiment) over the last 90 days. */
  async metricFindQuery(query: VariableQuery | string): Promise<MetricFindValue[]> {
    const dimension = typeof query === 'string' ? query : query.dimension;
    const values: Array<{ text: string; value: string }> = await this.getResource(`values/${dimension}`);
    return values.map((v) => ({ text: v.text, value: v.value }));
  }
}
