import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { InsightsQuery, MetricListing } from '../types';

const listing: MetricListing = {
  intervals: ['hour', 'day', 'week', 'month', 'quarter', 'year'],
  k_anonymity: 5,
  metrics: [
    {
      name: 'active_users', description: 'Distinct active users per bucket.', interval: 'required', time_range: true,
      filters: ['plugin', 'entity_kind', 'instance'], group_by: ['plugin', 'instance'], columns: [], role: 'viewer',
    },
    {
      name: 'funnel', description: 'A funnel of 2 to 10 steps.', interval: 'none', time_range: true, filters: ['instance', 'team'],
      group_by: ['team'], columns: [], role: 'team_lead', parameters: ['funnel'],
    },
  ],
};

function setup(query: Partial<InsightsQuery>) {
  const datasource = { getMetrics: jest.fn().mockResolvedValue(listing) } as unknown as DataSource;
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  render(<QueryEditor query={{ refId: 'A', ...query } as InsightsQuery} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />);
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('offers the metric’s own interval, group-by and filters from the catalogue', async () => {
    setup({ queryType: 'active_users', interval: 'auto' });
    await waitFor(() => expect(screen.getByText('Interval')).toBeInTheDocument());
    expect(screen.getByText('Group by')).toBeInTheDocument();
    for (const filter of ['plugin', 'entity_kind', 'instance']) {
      expect(screen.getByText(filter)).toBeInTheDocument();
    }
    expect(screen.queryByText('Lens')).not.toBeInTheDocument();
  });

  it('turns a comma-separated filter into values and runs the query', async () => {
    const { onChange, onRunQuery } = setup({ queryType: 'active_users' });
    await waitFor(() => expect(document.getElementById('query-filter-plugin')).not.toBeNull());
    const plugin = document.getElementById('query-filter-plugin')!;
    fireEvent.change(plugin, { target: { value: 'catalog, $plugin' } });
    fireEvent.blur(plugin);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ filters: { plugin: ['catalog', '$plugin'] } }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('edits a metric’s parameter object as JSON, and refuses what does not parse', async () => {
    const { onChange } = setup({ queryType: 'funnel' });
    await waitFor(() => expect(document.getElementById('query-funnel')).not.toBeNull());
    const area = document.getElementById('query-funnel')!;
    fireEvent.change(area, { target: { value: '{"steps": [{"event": "backstage.navigate"}, {"event": "backstage.create"}]}' } });
    fireEvent.blur(area);
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ funnel: { steps: [{ event: 'backstage.navigate' }, { event: 'backstage.create' }] } })
    );
    onChange.mockClear();
    fireEvent.change(area, { target: { value: '{"steps": [' } });
    fireEvent.blur(area);
    expect(onChange).not.toHaveBeenCalled();
    expect(await screen.findByText(/not JSON/)).toBeInTheDocument();
    expect(screen.queryByText('Interval')).not.toBeInTheDocument();
  });

  it('says when the collector cannot be read', async () => {
    const datasource = { getMetrics: jest.fn().mockRejectedValue({ data: { error: 'the collector refused the token' } }) } as unknown as DataSource;
    render(<QueryEditor query={{ refId: 'A' } as InsightsQuery} onChange={jest.fn()} onRunQuery={jest.fn()} datasource={datasource} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('the collector refused the token');
  });
});
