package plugin

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// variableSources are the metrics and columns the template variables' values come from, and how far back.
var variableSources = map[string]struct {
	request apiRequest
	column  string
}{
	"plugin":     {apiRequest{Metric: "plugin_adoption", Limit: 10_000}, "plugin"},
	"team":       {apiRequest{Metric: "team_comparison", Limit: 10_000}, "team"},
	"instance":   {apiRequest{Metric: "active_users", Interval: "month", GroupBy: []string{"instance"}, Limit: 10_000}, "instance"},
	"experiment": {apiRequest{Metric: "experiments", Limit: 10_000}, "experiment"},
}

const variableLookback = 90 * 24 * time.Hour

// option is a template variable's value.
type option struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

func (d *Datasource) resourceRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	// GET metrics: the collector's metric catalogue, for the query editor.
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		raw, status, err := d.call(r.Context(), http.MethodGet, "/api/v1/metrics", nil)
		if err != nil {
			writeResourceError(w, statusOr(status, http.StatusBadGateway), err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	})
	// GET values/{dimension}: the values of a dimension over the last 90 days, for template variables.
	mux.HandleFunc("GET /values/{dimension}", func(w http.ResponseWriter, r *http.Request) {
		source, ok := variableSources[r.PathValue("dimension")]
		if !ok {
			writeResourceError(w, http.StatusNotFound, "unknown dimension "+r.PathValue("dimension")+": plugin, team, instance or experiment")
			return
		}
		req := source.request
		now := time.Now().UTC()
		req.From, req.To = now.Add(-variableLookback).Format(time.RFC3339), now.Format(time.RFC3339)
		body, _ := json.Marshal(req)
		raw, status, err := d.call(r.Context(), http.MethodPost, "/api/v1/query", body)
		if err != nil {
			writeResourceError(w, statusOr(status, http.StatusBadGateway), err.Error())
			return
		}
		var res apiResult
		if err := json.Unmarshal(raw, &res); err != nil {
			writeResourceError(w, http.StatusBadGateway, "the collector's answer is not a result table")
			return
		}
		at := slices.IndexFunc(res.Columns, func(c apiColumn) bool { return c.Name == source.column })
		if at < 0 {
			writeResourceError(w, http.StatusBadGateway, "the collector's "+req.Metric+" has no column "+source.column)
			return
		}
		options := []option{}
		seen := map[string]bool{}
		for _, row := range res.Rows {
			if v, ok := row[at].(string); ok && !seen[v] {
				seen[v] = true
				options = append(options, option{Text: v, Value: v})
			}
		}
		slices.SortFunc(options, func(a, b option) int {
			if a.Text < b.Text {
				return -1
			}
			return 1
		})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(options)
	})
	return mux
}

func writeResourceError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}
