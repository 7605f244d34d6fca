package backstagereceiver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/insights-collector/insights-collector/internal/normalize"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// otlpEndpoint serves POST /v1/logs: OTLP/HTTP logs in protobuf or JSON, answered the OTLP way (partial
// success on 200, a google.rpc.Status on errors).
func otlpEndpoint() *endpoint {
	return &endpoint{
		name:       endpointOTLP,
		mediaTypes: []string{mediaProtobuf, mediaJSON},
		decode: func(media string, body []byte, opts *normalize.Options, req *normalize.Request) (normalize.Result, error) {
			export := plogotlp.NewExportRequest()
			var err error
			if media == mediaProtobuf {
				err = export.UnmarshalProto(body)
			} else {
				err = export.UnmarshalJSON(body)
			}
			if err != nil {
				return normalize.Result{}, fmt.Errorf("%w: invalid OTLP %s: %v", normalize.ErrMalformed, media, err)
			}
			if n := export.Logs().LogRecordCount(); opts.MaxEvents > 0 && n > opts.MaxEvents {
				return normalize.Result{}, &normalize.TooManyEventsError{Count: n, Max: opts.MaxEvents}
			}
			return normalize.OTLP(export.Logs(), opts, req), nil
		},
		reply: otlpReplier{},
	}
}

// eventsEndpoint serves POST /v1/events: JSON arrays of Backstage AnalyticsEvents.
func eventsEndpoint() *endpoint {
	return &endpoint{
		name:       endpointEvents,
		mediaTypes: []string{mediaJSON},
		decode: func(_ string, body []byte, opts *normalize.Options, req *normalize.Request) (normalize.Result, error) {
			return normalize.AnalyticsEvents(body, opts, req)
		},
		reply: jsonReplier{},
	}
}

// segmentEndpoint serves one Segment-spec call (batch, track, page, screen, identify, group).
func segmentEndpoint(call string) *endpoint {
	return &endpoint{
		name:         endpointSegment,
		mediaTypes:   []string{mediaJSON, mediaText},
		bodyWriteKey: true,
		decode: func(_ string, body []byte, opts *normalize.Options, req *normalize.Request) (normalize.Result, error) {
			return normalize.Segment(body, call, opts, req)
		},
		reply: jsonReplier{segment: true},
	}
}

// jsonReplier answers the JSON endpoints: {"accepted": n, "rejected": [{index, reason, message}]} on success,
// and {"code", "message", "rejected"?} on failure. Segment's libraries also look for "success".
type jsonReplier struct{ segment bool }

type jsonResponse struct {
	Success  *bool                 `json:"success,omitempty"`
	Code     int                   `json:"code,omitempty"`
	Message  string                `json:"message,omitempty"`
	Accepted int                   `json:"accepted"`
	Rejected []normalize.Rejection `json:"rejected,omitempty"`
}

func (j jsonReplier) accepted(w http.ResponseWriter, _ string, res *normalize.Result) {
	resp := jsonResponse{Accepted: res.Accepted, Rejected: res.Rejected}
	if j.segment {
		ok := true
		resp.Success = &ok
	}
	writeJSON(w, http.StatusOK, resp)
}

func (j jsonReplier) failed(w http.ResponseWriter, _ string, f *failure) {
	writeJSON(w, f.status, jsonResponse{Code: f.status, Message: f.message, Rejected: f.rejected})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v) // plain structs of strings and ints: cannot fail
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// otlpReplier answers /v1/logs as the OTLP/HTTP specification requires, in the request's encoding.
type otlpReplier struct{}

// maxReasonsInMessage bounds the partial-success message; the count of rejected records is always exact.
const maxReasonsInMessage = 10

func (otlpReplier) accepted(w http.ResponseWriter, media string, res *normalize.Result) {
	resp := plogotlp.NewExportResponse()
	if len(res.Rejected) > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(len(res.Rejected)))
		resp.PartialSuccess().SetErrorMessage(rejectionSummary(res.Rejected))
	}
	var body []byte
	var err error
	if media == mediaProtobuf {
		body, err = resp.MarshalProto()
	} else {
		media = mediaJSON
		body, err = resp.MarshalJSON()
	}
	if err != nil {
		otlpReplier{}.failed(w, media, &failure{status: http.StatusInternalServerError, message: "encode response: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", media)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (otlpReplier) failed(w http.ResponseWriter, media string, f *failure) {
	st := status.New(grpcCode(f.status), f.message).Proto()
	var body []byte
	if media == mediaProtobuf {
		body, _ = proto.Marshal(st)
	} else {
		media = mediaJSON
		body, _ = protojson.Marshal(st)
	}
	w.Header().Set("Content-Type", media)
	w.WriteHeader(f.status)
	_, _ = w.Write(body)
}

// rejectionSummary lists the first rejected records by index in the request (counting across resources and
// scopes) and why, e.g. "2 log records rejected: #3 missing_action: action is missing or empty; …".
func rejectionSummary(rejected []normalize.Rejection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d log records rejected", len(rejected))
	for i, r := range rejected {
		if i == maxReasonsInMessage {
			fmt.Fprintf(&b, "; and %d more", len(rejected)-i)
			break
		}
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s#%d %s: %s", sep, r.Index, r.Reason, r.Message)
	}
	return b.String()
}

func grpcCode(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusInternalServerError:
		return codes.Internal
	case http.StatusMethodNotAllowed:
		return codes.Unimplemented
	default:
		return codes.InvalidArgument
	}
}

// withInstance stamps the instance bound to a body write key on the request's events.
func withInstance(res normalize.Result, instance string) normalize.Result {
	rls := res.Logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rls.At(i).Resource().Attributes().PutStr(semconv.ResourceInstance, instance)
	}
	return res
}
