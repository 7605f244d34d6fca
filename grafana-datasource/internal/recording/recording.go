// Package recording is the format of the data source's recorded exchanges with the query API: the dashboards'
// smoke test writes one per metric (make datasource-fixtures), and the plugin's unit tests replay them.
package recording

import (
	"encoding/json"
	"time"
)

// Recording is one metric's exchange: the query Grafana sent, the request the plugin made of it, and the query
// API's answer (its first rows).
type Recording struct {
	Query   Query           `json:"query"`
	Request json.RawMessage `json:"request"`
	Answer  json.RawMessage `json:"answer"`
}

// Query is a Grafana data query as the plugin received it.
type Query struct {
	RefID      string          `json:"refId"`
	QueryType  string          `json:"queryType"`
	JSON       json.RawMessage `json:"json"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	IntervalMS int64           `json:"intervalMs"`
}

// Catalogue is the file of the metric catalogue (GET /api/v1/metrics) beside the recordings.
const Catalogue = "catalogue.json"
