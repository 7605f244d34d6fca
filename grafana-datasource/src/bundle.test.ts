/**
 * The built bundle as Grafana loads it: dist/module.js is an AMD module whose dependencies Grafana provides
 * (@grafana/data, ui, runtime, react, …). Run after `npm run build` (make plugin-frontend does).
 */
import fs from 'fs';
import path from 'path';
import { DataSourcePlugin } from '@grafana/data';

describe('dist/module.js', () => {
  it('defines the data source plugin with its editors', () => {
    const bundle = fs.readFileSync(path.join(__dirname, '..', 'dist', 'module.js'), 'utf8');
    let exported: any;
    const define = (deps: string[], factory: (...args: unknown[]) => unknown) => {
      const resolved = deps.map((dep) => (dep === 'module' ? { uri: '/public/plugins/insights-collector-datasource/module.js' } : require(dep)));
      exported = factory(...resolved);
    };
    (define as any).amd = true;
    new Function('define', bundle)(define);
    expect(exported.plugin).toBeInstanceOf(DataSourcePlugin);
    expect(exported.plugin.components.QueryEditor).toBeDefined();
    expect(exported.plugin.components.ConfigEditor).toBeDefined();
    expect(exported.plugin.components.VariableQueryEditor).toBeDefined();
  });

  it('ships plugin.json with the backend, alerting and streaming', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'dist', 'plugin.json'), 'utf8'));
    expect(meta).toMatchObject({ id: 'insights-collector-datasource', backend: true, alerting: true, streaming: true, executable: 'gpx_insights' });
  });

  it('ships the dashboards plugin.json includes', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'dist', 'plugin.json'), 'utf8'));
    expect(meta.includes.length).toBeGreaterThanOrEqual(10);
    for (const include of meta.includes) {
      const dashboard = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'dist', include.path), 'utf8'));
      expect(dashboard.title).toBe(include.name);
    }
  });
});
