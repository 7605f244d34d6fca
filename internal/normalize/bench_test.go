package normalize

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/insights-collector/insights-collector/internal/wireformat"
)

const benchBatch = 100

// benchBody encodes 100 real events (the samples, cycled, a second apart) in a format.
func benchBody(b *testing.B, format wireformat.Format) []byte {
	occs := samples(b)
	batch := make([]wireformat.Occurrence, benchBatch)
	for i := range batch {
		batch[i] = occs[i%len(occs)]
		batch[i].Time = received.Add(-time.Duration(benchBatch-i) * time.Second)
	}
	body, err := wireformat.Encode(format, batch)
	require.NoError(b, err)
	return body
}

// BenchmarkDecode measures decoding + normalising one 100-event request per format; "ns/event" is the
// number to compare. The plain-otlp rows are what the OTLP receiver does with the same events (unmarshal
// only), the baseline of the receiver's cost target.
func BenchmarkDecode(b *testing.B) {
	opts := testOptions()
	cases := []struct {
		name   string
		format wireformat.Format
		decode func(body []byte) error
	}{
		{"plain-otlp-proto", wireformat.FormatOTLP, func(body []byte) error {
			return plogotlp.NewExportRequest().UnmarshalProto(body)
		}},
		{"plain-otlp-json", wireformat.FormatOTLPJSON, func(body []byte) error {
			return plogotlp.NewExportRequest().UnmarshalJSON(body)
		}},
		{"otlp-proto", wireformat.FormatOTLP, func(body []byte) error {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalProto(body); err != nil {
				return err
			}
			OTLP(req.Logs(), opts, newRequest(body))
			return nil
		}},
		{"otlp-json", wireformat.FormatOTLPJSON, func(body []byte) error {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON(body); err != nil {
				return err
			}
			OTLP(req.Logs(), opts, newRequest(body))
			return nil
		}},
		{"events", wireformat.FormatEvents, func(body []byte) error {
			_, err := AnalyticsEvents(body, opts, newRequest(body))
			return err
		}},
		{"generic", wireformat.FormatGeneric, func(body []byte) error {
			_, err := AnalyticsEvents(body, opts, newRequest(body))
			return err
		}},
		{"segment", wireformat.FormatSegment, func(body []byte) error {
			_, err := Segment(body, SegmentBatch, opts, newRequest(body))
			return err
		}},
	}
	for _, c := range cases {
		body := benchBody(b, c.format)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := c.decode(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/event")
		})
	}
}
