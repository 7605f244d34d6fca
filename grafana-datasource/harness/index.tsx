/**
 * A page that renders the data source's editors outside Grafana, as Grafana would (its dark theme, @grafana/ui),
 * for the README's pictures: make editor-screenshots bundles it and takes each view with headless Chromium.
 * The query editor reads the real metric catalogue that the collector answered (the unit tests' recording).
 */
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createTheme, DataSourceSettings } from '@grafana/data';
import { ThemeContext } from '@grafana/ui';

import { ConfigEditor } from '../src/components/ConfigEditor';
import { QueryEditor } from '../src/components/QueryEditor';
import { VariableQueryEditor } from '../src/components/VariableQueryEditor';
import { InsightsOptions, InsightsQuery, MetricListing, VariableQuery } from '../src/types';
import catalogue from '../pkg/plugin/testdata/metrics/catalogue.json';

const theme = createTheme({ colors: { mode: 'dark' } });

const datasource = { getMetrics: (): Promise<MetricListing> => Promise.resolve(catalogue as unknown as MetricListing) };

const settings = {
  id: 1,
  uid: 'insights',
  name: 'Insights',
  type: 'insights-collector-datasource',
  url: 'http://otelcol-insights:4321',
  access: 'proxy',
  jsonData: { timeoutSeconds: 30, cacheSeconds: 15 },
  secureJsonFields: { token: true },
  secureJsonData: {},
} as unknown as DataSourceSettings<InsightsOptions>;

const queries: Record<string, InsightsQuery> = {
  query: { refId: 'A', queryType: 'active_users', interval: 'day', groupBy: ['plugin'], filters: { instance: ['$instance'] }, format: 'auto' },
  funnel: {
    refId: 'A',
    queryType: 'funnel',
    groupBy: ['team'],
    funnel: { steps: [{ event: 'backstage.navigate', plugin: 'catalog' }, { event: 'backstage.create' }], within_hours: 168 },
  },
};

function Editors({ view }: { view: string }) {
  const [query, setQuery] = useState<InsightsQuery>(queries[view] ?? queries.query);
  const [options, setOptions] = useState(settings);
  const [variable, setVariable] = useState<VariableQuery>({ dimension: 'team' });
  switch (view) {
    case 'config':
      return <ConfigEditor options={options} onOptionsChange={setOptions} />;
    case 'variable':
      return <VariableQueryEditor query={variable} onChange={(q) => setVariable(q)} />;
    default:
      return <QueryEditor query={query} onChange={setQuery} onRunQuery={() => {}} datasource={datasource as any} />;
  }
}

const view = new URLSearchParams(window.location.search).get('view') ?? 'query';
document.body.style.background = theme.colors.background.primary;
document.body.style.color = theme.colors.text.primary;
document.body.style.fontFamily = theme.typography.fontFamily;
document.body.style.fontSize = `${theme.typography.fontSize}px`;
document.body.style.padding = '16px';
createRoot(document.getElementById('root')!).render(
  <ThemeContext.Provider value={theme}>
    <Editors view={view} />
  </ThemeContext.Provider>
);
