// Package backstagesamples serves the payloads captured from a real Backstage 1.56 app (see
// ../shared/research/backstage-live.md) as test fixtures: 32 real AnalyticsEvents of a new-frontend-system app,
// and the OTLP logs, traces and metrics its backend exported (with two audit events).
package backstagesamples

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/insights-collector/insights-collector/internal/wireformat"
)

//go:embed backstage-analytics-sample.json
var analyticsJSON []byte

//go:embed backstage-otlp-sample.json
var otlpJSON []byte

// capturedEvent is one entry of the analytics sample: the AnalyticsEvent plus what the capturing module added.
type capturedEvent struct {
	wireformat.Event
	CapturedAt time.Time `json:"capturedAt"`
	Href       string    `json:"href"`
	User       string    `json:"user"`
}

// AnalyticsEvents returns the captured events as occurrences (user and capture time attached).
func AnalyticsEvents() ([]wireformat.Occurrence, error) {
	var sample struct {
		Events []capturedEvent `json:"events"`
	}
	if err := json.Unmarshal(analyticsJSON, &sample); err != nil {
		return nil, fmt.Errorf("decode analytics sample: %w", err)
	}
	occs := make([]wireformat.Occurrence, len(sample.Events))
	for i, e := range sample.Events {
		occs[i] = wireformat.Occurrence{Event: e.Event, User: e.User, Time: e.CapturedAt}
	}
	return occs, nil
}

type otlpSample struct {
	Logs    json.RawMessage `json:"logs"`
	Traces  json.RawMessage `json:"traces"`
	Metrics json.RawMessage `json:"metrics"`
}

func decodeOTLPSample() (otlpSample, error) {
	var s otlpSample
	if err := json.Unmarshal(otlpJSON, &s); err != nil {
		return s, fmt.Errorf("decode OTLP sample: %w", err)
	}
	return s, nil
}

// BackendLogsJSON returns the backend's OTLP/JSON logs (two audit events) as an OTLP/HTTP request body.
func BackendLogsJSON() ([]byte, error) {
	s, err := decodeOTLPSample()
	return s.Logs, err
}

// BackendLogs returns the backend's logs.
func BackendLogs() (plog.Logs, error) {
	body, err := BackendLogsJSON()
	if err != nil {
		return plog.Logs{}, err
	}
	return (&plog.JSONUnmarshaler{}).UnmarshalLogs(body)
}

// BackendTraces returns the backend's spans: a catalog processing run and two HTTP server requests.
func BackendTraces() (ptrace.Traces, error) {
	s, err := decodeOTLPSample()
	if err != nil {
		return ptrace.Traces{}, err
	}
	return (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(s.Traces)
}

// BackendMetrics returns the backend's metrics (catalog, scaffolder and HTTP server).
func BackendMetrics() (pmetric.Metrics, error) {
	s, err := decodeOTLPSample()
	if err != nil {
		return pmetric.Metrics{}, err
	}
	return (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(s.Metrics)
}
