import React from 'react';
import { Combobox, InlineField } from '@grafana/ui';
import { VariableQuery } from '../types';

interface Props {
  query: VariableQuery;
  onChange: (query: VariableQuery, definition: string) => void;
}

const dimensions = [
  { label: 'Plugins', value: 'plugin' as const, description: 'plugins used in the last 90 days' },
  { label: 'Teams', value: 'team' as const, description: "the catalog's teams" },
  { label: 'Instances', value: 'instance' as const, description: 'the Backstage portals that sent events' },
  { label: 'Experiments', value: 'experiment' as const, description: 'experiments with exposures in the last 90 days' },
];

/** A template variable lists a dimension's values: plugins, teams, instances or experiments. */
export function VariableQueryEditor({ query, onChange }: Props) {
  return (
    <InlineField label="Values of" labelWidth={16}>
      <Combobox
        id="variable-dimension"
        options={dimensions}
        value={query?.dimension ?? 'plugin'}
        width={30}
        onChange={(v) => onChange({ dimension: v.value }, `Insights ${v.value}`)}
      />
    </InlineField>
  );
}
