import React, { ChangeEvent, useEffect, useState } from 'react';
import { Combobox, ComboboxOption, InlineField, InlineFieldRow, Input, RadioButtonGroup, TextArea } from '@grafana/ui';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { DataSource } from '../datasource';
import { InsightsOptions, InsightsQuery, MetricInfo, MetricListing, Parameter } from '../types';

type Props = QueryEditorProps<DataSource, InsightsQuery, InsightsOptions>;

const formats: Array<SelectableValue<InsightsQuery['format']>> = [
  { label: 'Auto', value: 'auto', description: 'a time series when the metric has a time column' },
  { label: 'Table', value: 'table' },
  { label: 'Time series', value: 'timeseries' },
];

const comparisons: Array<ComboboxOption<string>> = [
  { label: 'None', value: '' },
  { label: 'Previous period', value: 'previous_period' },
  { label: 'Previous year', value: 'previous_year' },
];

/** The query editor is built from the collector's catalogue: the metric, then that metric's own parameters. */
export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const [listing, setListing] = useState<MetricListing>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    datasource
      .getMetrics()
      .then(setListing)
      .catch((e) => setError(e?.data?.error ?? e?.message ?? 'the metrics could not be read'));
  }, [datasource]);

  const metric = listing?.metrics.find((m) => m.name === query.queryType);
  const update = (patch: Partial<InsightsQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const chooseMetric = (m: MetricInfo) =>
    update({
      queryType: m.name,
      interval: m.interval === 'none' ? undefined : 'auto',
      groupBy: undefined,
      lens: undefined,
      filters: Object.fromEntries(Object.entries(query.filters ?? {}).filter(([name]) => m.filters.includes(name))),
      funnel: undefined,
      paths: undefined,
      series: undefined,
      goal: undefined,
    });

  if (error) {
    return <div role="alert">The collector&apos;s metrics: {error}</div>;
  }
  return (
    <>
      <InlineFieldRow>
        <InlineField label="Metric" labelWidth={14} tooltip={metric?.description}>
          <Combobox
            id="query-metric"
            loading={!listing}
            width={32}
            options={(listing?.metrics ?? []).map((m) => ({ label: m.name, value: m.name, description: m.description }))}
            value={query.queryType}
            onChange={(v) => {
              const m = listing?.metrics.find((x) => x.name === v.value);
              if (m) {
                chooseMetric(m);
              }
            }}
          />
        </InlineField>
        {metric && metric.interval !== 'none' && (
          <InlineField label="Interval" labelWidth={10}>
            <Combobox
              id="query-interval"
              width={16}
              options={['auto', ...(metric.intervals ?? listing?.intervals ?? [])].map((i) => ({ label: i, value: i }))}
              value={query.interval ?? 'auto'}
              onChange={(v) => update({ interval: v.value })}
            />
          </InlineField>
        )}
        {metric && metric.group_by.length > 0 && (
          <InlineField label="Group by" labelWidth={10}>
            <Combobox
              id="query-group-by"
              width={16}
              isClearable
              options={metric.group_by.map((g) => ({ label: g, value: g }))}
              value={query.groupBy?.[0] ?? null}
              onChange={(v) => update({ groupBy: v?.value ? [v.value] : undefined })}
            />
          </InlineField>
        )}
        {metric?.lenses && (
          <InlineField label="Lens" labelWidth={8}>
            <Combobox
              id="query-lens"
              width={16}
              options={metric.lenses.map((l) => ({ label: l, value: l }))}
              value={query.lens ?? metric.lenses[0]}
              onChange={(v) => update({ lens: v.value })}
            />
          </InlineField>
        )}
      </InlineFieldRow>
      {metric && metric.filters.length > 0 && (
        <InlineFieldRow>
          {metric.filters.map((name) => (
            <Filter key={name} name={name} values={query.filters?.[name]} onChange={(values) => update({ filters: withFilter(query.filters, name, values) })} />
          ))}
        </InlineFieldRow>
      )}
      {metric && (
        <InlineFieldRow>
          <InlineField label="Format" labelWidth={14}>
            <RadioButtonGroup options={formats} value={query.format ?? 'auto'} onChange={(v) => update({ format: v })} />
          </InlineField>
          {metric.time_range && (metric.parameters ?? []).length === 0 && (
            <InlineField label="Compare" labelWidth={10}>
              <Combobox id="query-compare" width={20} options={comparisons} value={query.compare ?? ''} onChange={(v) => update({ compare: v.value || undefined })} />
            </InlineField>
          )}
          <InlineField label="Limit" labelWidth={8}>
            <Input id="query-limit" type="number" width={10} placeholder="100" value={query.limit ?? ''}
              onChange={(e: ChangeEvent<HTMLInputElement>) => update({ limit: e.target.value === '' ? undefined : Number(e.target.value) })} />
          </InlineField>
        </InlineFieldRow>
      )}
      {(metric?.parameters ?? []).map((p) => (
        <ParameterEditor key={p} name={p} value={query[p]} onChange={(value) => update({ [p]: value })} />
      ))}
    </>
  );
}

function withFilter(filters: Record<string, string[]> | undefined, name: string, values: string[]) {
  const out = { ...(filters ?? {}) };
  if (values.length === 0) {
    delete out[name];
  } else {
    out[name] = values;
  }
  return out;
}

/** A filter's values, comma-separated; template variables ($team) are welcome. */
function Filter({ name, values, onChange }: { name: string; values?: string[]; onChange: (values: string[]) => void }) {
  const [text, setText] = useState((values ?? []).join(', '));
  return (
    <InlineField label={name} labelWidth={14} tooltip={`values of ${name}, comma-separated; a template variable such as $${name} works`}>
      <Input
        id={`query-filter-${name}`}
        width={24}
        value={text}
        placeholder="all"
        onChange={(e: ChangeEvent<HTMLInputElement>) => setText(e.target.value)}
        onBlur={() => onChange(text.split(',').map((v) => v.trim()).filter((v) => v !== ''))}
      />
    </InlineField>
  );
}

const examples: Record<Parameter, object> = {
  funnel: { steps: [{ event: 'backstage.navigate', subject_prefix: '/create' }, { event: 'backstage.create' }], within_hours: 168 },
  paths: { anchor: { plugin: 'techdocs' }, depth: 3, node: 'plugin' },
  series: { metric: 'active_users', horizon: 28 },
  goal: { type: 'conversion', event: 'backstage.create', within_days: 7 },
};

/** A metric's own object (funnel steps, a walk, a series, a goal) as JSON; applied when it parses. */
function ParameterEditor({ name, value, onChange }: { name: Parameter; value?: object; onChange: (value: object) => void }) {
  const [text, setText] = useState(JSON.stringify(value ?? examples[name], null, 2));
  const [invalid, setInvalid] = useState<string>();
  return (
    <InlineField label={name} labelWidth={14} invalid={!!invalid} error={invalid} tooltip={`the ${name} object of the query API`}>
      <TextArea
        id={`query-${name}`}
        cols={80}
        rows={6}
        value={text}
        onChange={(e: ChangeEvent<HTMLTextAreaElement>) => setText(e.target.value)}
        onBlur={() => {
          try {
            onChange(JSON.parse(text));
            setInvalid(undefined);
          } catch (e) {
            setInvalid(`not JSON: ${(e as Error).message}`);
          }
        }}
      />
    </InlineField>
  );
}
