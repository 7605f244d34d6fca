package plugin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

var _ backend.StreamHandler = (*Datasource)(nil)

// livePath is the stream of current activity: the collector's live metric (users and events of the last five
// minutes), a row every liveEvery. A panel's filters follow it in the channel's path: live/<filters>, the filters'
// JSON in unpadded URL-safe base64 (the characters a Grafana Live path may hold).
const (
	livePath         = "live"
	defaultLiveEvery = 5 * time.Second
)

// liveChannelPath is the stream path of a live query's filters.
func liveChannelPath(filters map[string][]string) string {
	if len(filters) == 0 {
		return livePath
	}
	raw, _ := json.Marshal(filters) // a map of strings always encodes (and in key order: one path per set of filters)
	return livePath + "/" + base64.RawURLEncoding.EncodeToString(raw)
}

// liveFilters reads a stream path's filters; ok is false when the path is not a live stream's.
func liveFilters(path string) (filters map[string][]string, ok bool) {
	if path == livePath {
		return nil, true
	}
	encoded, found := strings.CutPrefix(path, livePath+"/")
	if !found {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil || json.Unmarshal(raw, &filters) != nil {
		return nil, false
	}
	return filters, true
}

// SubscribeStream lets panels subscribe to the live stream.
func (d *Datasource) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if _, ok := liveFilters(req.Path); !ok {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream: the stream is the collector's; nobody publishes into it.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream asks the collector for current activity every liveEvery and sends it as a row, until the last
// subscriber leaves (ctx ends). A failed ask is logged and retried at the next tick: the stream goes on.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	filters, ok := liveFilters(req.Path)
	if !ok {
		return fmt.Errorf("unknown stream %q", req.Path)
	}
	ticker := time.NewTicker(d.liveEvery)
	defer ticker.Stop()
	for {
		frame, err := d.liveFrame(ctx, filters)
		if err != nil {
			backend.Logger.FromContext(ctx).Warn("Asking the collector for live activity failed", "error", err.Error())
		} else if err := sender.SendFrame(frame, data.IncludeAll); err != nil {
			return fmt.Errorf("send a live frame: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// liveFrame is a row of current activity: the time, users and events of the last five minutes.
func (d *Datasource) liveFrame(ctx context.Context, filters map[string][]string) (*data.Frame, error) {
	body, _ := json.Marshal(apiRequest{Metric: "live", Filters: filters})
	raw, _, err := d.call(ctx, http.MethodPost, "/api/v1/query", body)
	if err != nil {
		return nil, err
	}
	var res apiResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("the collector's answer is not a result table: %w", err)
	}
	totals := map[string]float64{}
	for _, row := range res.Rows { // one row (or one per plugin): the totals
		for i, c := range res.Columns {
			if v, ok := row[i].(float64); ok {
				totals[c.Name] += v
			}
		}
	}
	frame := data.NewFrame(livePath,
		data.NewField("time", nil, []time.Time{time.Now().UTC()}),
		data.NewField("active_users", nil, []float64{totals["active_users"]}).SetConfig(&data.FieldConfig{Unit: "short", Description: "users active in the last 5 minutes"}),
		data.NewField("events", nil, []float64{totals["events"]}).SetConfig(&data.FieldConfig{Unit: "short", Description: "events in the last 5 minutes"}),
		data.NewField("events_per_minute", nil, []float64{totals["events_per_minute"]}).SetConfig(&data.FieldConfig{Unit: "short", Description: "events per minute over the last 5 minutes"}))
	return frame, nil
}

// stampNow makes the live metric's row (the totals) the first point of the stream's time series, so that a
// time series panel draws it before the stream's first frame arrives.
func stampNow(frame *data.Frame) {
	if n, _ := frame.RowLen(); n != 1 {
		return
	}
	frame.Fields = append([]*data.Field{data.NewField("time", nil, []time.Time{time.Now().UTC()})}, frame.Fields...)
	frame.Meta.Type = data.FrameTypeTimeSeriesWide
}
