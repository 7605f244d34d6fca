import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';
import { ConfigEditor } from './ConfigEditor';
import { VariableQueryEditor } from './VariableQueryEditor';
import { InsightsOptions } from '../types';

const options = {
  id: 1,
  uid: 'insights',
  name: 'Insights',
  type: 'insights-collector-datasource',
  url: 'http://localhost:4321',
  jsonData: { timeoutSeconds: 30 },
  secureJsonFields: { token: true },
  secureJsonData: {},
} as unknown as DataSourceSettings<InsightsOptions>;

describe('ConfigEditor', () => {
  it('keeps the token in the secure JSON data, never in jsonData', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={{ ...options, secureJsonFields: {} }} onOptionsChange={onOptionsChange} />);
    fireEvent.change(document.getElementById('config-token')!, { target: { value: 'dev-grafana-token-0123456789' } });
    const changed = onOptionsChange.mock.lastCall[0];
    expect(changed.secureJsonData).toEqual({ token: 'dev-grafana-token-0123456789' });
    expect(JSON.stringify(changed.jsonData)).not.toContain('dev-grafana-token');
  });

  it('shows a saved token as configured, and resetting it clears it', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
    expect(screen.getByDisplayValue('configured')).toBeInTheDocument();
    fireEvent.click(screen.getByText('Reset'));
    expect(onOptionsChange.mock.lastCall[0]).toMatchObject({ secureJsonFields: { token: false }, secureJsonData: { token: '' } });
  });

  it('sets the URL, and numbers as numbers (empty: the default)', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
    fireEvent.change(document.getElementById('config-url')!, { target: { value: 'https://collector:4321' } });
    expect(onOptionsChange.mock.lastCall[0].url).toBe('https://collector:4321');
    fireEvent.change(document.getElementById('config-cache')!, { target: { value: '-1' } });
    expect(onOptionsChange.mock.lastCall[0].jsonData).toEqual({ timeoutSeconds: 30, cacheSeconds: -1 });
    fireEvent.change(document.getElementById('config-timeout')!, { target: { value: '' } });
    expect(onOptionsChange.mock.lastCall[0].jsonData.timeoutSeconds).toBeUndefined();
  });
});

describe('VariableQueryEditor', () => {
  it('shows the dimension the variable lists', () => {
    render(<VariableQueryEditor query={{ dimension: 'team' }} onChange={jest.fn()} />);
    expect(screen.getByDisplayValue('Teams')).toBeInTheDocument();
  });
});
