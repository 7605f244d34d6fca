import { DataSourceInstanceSettings } from '@grafana/data';
import { DataSource } from './datasource';
import { InsightsOptions } from './types';

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({
    // $team is a multi-value variable with two teams selected; $none has nothing selected
    replace: (value: string) =>
      value.replace('$team', 'group:default/payments,group:default/sre').replace('$none', ''),
  }),
}));

const settings = { id: 1, uid: 'insights', name: 'Insights', type: 'insights-collector-datasource', jsonData: {} } as unknown as DataSourceInstanceSettings<InsightsOptions>;

describe('DataSource', () => {
  const ds = new DataSource(settings);

  it('expands multi-value template variables in the filters', () => {
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'team_adoption', filters: { team: ['$team'], plugin: ['$none'] } }, {});
    expect(out.filters).toEqual({ team: ['group:default/payments', 'group:default/sre'] });
  });

  it('runs only queries that name a metric', () => {
    expect(ds.filterQuery({ refId: 'A', queryType: 'active_users' })).toBe(true);
    expect(ds.filterQuery({ refId: 'A' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'active_users', hide: true })).toBe(false);
  });

  it('lists a dimension’s values for template variables', async () => {
    ds.getResource = jest.fn().mockResolvedValue([{ text: 'catalog', value: 'catalog' }]);
    await expect(ds.metricFindQuery({ dimension: 'plugin' })).resolves.toEqual([{ text: 'catalog', value: 'catalog' }]);
    expect(ds.getResource).toHaveBeenCalledWith('values/plugin');
  });
});
