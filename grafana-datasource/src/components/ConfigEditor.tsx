import React, { ChangeEvent } from 'react';
import { InlineField, InlineSwitch, Input, SecretInput } from '@grafana/ui';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InsightsOptions, InsightsSecureJsonData } from '../types';

interface Props extends DataSourcePluginOptionsEditorProps<InsightsOptions, InsightsSecureJsonData> {}

/** The query API's URL, its bearer token (kept by Grafana as a secret), TLS, timeout and cache. */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const setJSON = (patch: Partial<InsightsOptions>) => onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  const number = (e: ChangeEvent<HTMLInputElement>) => (e.target.value === '' ? undefined : Number(e.target.value));

  return (
    <>
      <InlineField label="URL" labelWidth={20} tooltip="The query API of the collector's insights_store extension (query_api.endpoint)">
        <Input
          id="config-url"
          value={options.url}
          placeholder="http://localhost:4321"
          width={40}
          onChange={(e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, url: e.target.value })}
        />
      </InlineField>
      <InlineField label="Token" labelWidth={20} tooltip="A token of query_api.tokens (role viewer, or team_lead for a team's own numbers)">
        <SecretInput
          id="config-token"
          isConfigured={secureJsonFields?.token}
          value={secureJsonData?.token ?? ''}
          placeholder="the bearer token"
          width={40}
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...secureJsonFields, token: false },
              secureJsonData: { ...secureJsonData, token: '' },
            })
          }
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, token: e.target.value } })
          }
        />
      </InlineField>
      <InlineField label="Skip TLS verify" labelWidth={20} tooltip="Accept the collector's certificate unchecked (testing only)">
        <InlineSwitch
          id="config-tls-skip-verify"
          value={jsonData.tlsSkipVerify ?? false}
          onChange={(e) => setJSON({ tlsSkipVerify: e.currentTarget.checked })}
        />
      </InlineField>
      <InlineField label="Timeout (s)" labelWidth={20} tooltip="How long a query may take (default 30)">
        <Input id="config-timeout" type="number" width={12} value={jsonData.timeoutSeconds ?? ''} placeholder="30"
          onChange={(e: ChangeEvent<HTMLInputElement>) => setJSON({ timeoutSeconds: number(e) })} />
      </InlineField>
      <InlineField label="Cache (s)" labelWidth={20} tooltip="How long an answer is reused by panels asking the same (default 15, -1 off)">
        <Input id="config-cache" type="number" width={12} value={jsonData.cacheSeconds ?? ''} placeholder="15"
          onChange={(e: ChangeEvent<HTMLInputElement>) => setJSON({ cacheSeconds: number(e) })} />
      </InlineField>
    </>
  );
}
