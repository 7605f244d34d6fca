package normalize

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The JSON decoders stream with json-iterator (pdata's own JSON engine), writing attributes straight into
// pdata: no intermediate maps, which is what keeps the JSON formats close to the cost of plain OTLP.

func borrowIterator(body []byte) *jsoniter.Iterator {
	return jsoniter.ConfigFastest.BorrowIterator(body)
}

func returnIterator(it *jsoniter.Iterator) { jsoniter.ConfigFastest.ReturnIterator(it) }

// syntaxError turns the iterator's error into ErrMalformed, with the position json-iterator reports. It also
// refuses anything but white space after the top-level value.
func syntaxError(it *jsoniter.Iterator) error {
	if it.Error != nil {
		return fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, it.Error)
	}
	it.WhatIsNext() // reaches the end of the input (io.EOF) unless something follows the value
	if errors.Is(it.Error, io.EOF) {
		it.Error = nil
		return nil
	}
	return fmt.Errorf("%w: invalid JSON: unexpected data after the top-level value", ErrMalformed)
}

// readString reads a string; any other JSON type is skipped and reported as not ok. null reads as "".
func readString(it *jsoniter.Iterator) (string, bool) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return validString(it.ReadString()), true
	case jsoniter.NilValue:
		it.ReadNil()
		return "", true
	default:
		it.Skip()
		return "", false
	}
}

// readID reads an identifier that senders write as a string or a number (Segment's userId).
func readID(it *jsoniter.Iterator) (string, bool) {
	if it.WhatIsNext() == jsoniter.NumberValue {
		return string(it.ReadNumber()), true
	}
	return readString(it)
}

// readNumber reads a number; null is "no value".
func readNumber(it *jsoniter.Iterator) (v float64, has, ok bool) {
	switch it.WhatIsNext() {
	case jsoniter.NumberValue:
		return it.ReadFloat64(), true, true
	case jsoniter.NilValue:
		it.ReadNil()
		return 0, false, true
	default:
		it.Skip()
		return 0, false, false
	}
}

// readTime reads an ISO-8601 string or epoch milliseconds; null is "no time".
func readTime(it *jsoniter.Iterator) (t time.Time, has, ok bool) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		t, ok = parseTime(it.ReadString())
		return t, ok, ok
	case jsoniter.NumberValue:
		return time.UnixMilli(int64(it.ReadFloat64())).UTC(), true, true
	case jsoniter.NilValue:
		it.ReadNil()
		return time.Time{}, false, true
	default:
		it.Skip()
		return time.Time{}, false, false
	}
}

// putValue reads any JSON value into m[key]; a null leaves the key out.
func putValue(it *jsoniter.Iterator, m pcommon.Map, key string) {
	if it.WhatIsNext() == jsoniter.NilValue {
		it.ReadNil()
		return
	}
	readValue(it, m.PutEmpty(key))
}

func readValue(it *jsoniter.Iterator, v pcommon.Value) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		v.SetStr(validString(it.ReadString()))
	case jsoniter.NumberValue:
		setNumber(v, string(it.ReadNumber()))
	case jsoniter.BoolValue:
		v.SetBool(it.ReadBool())
	case jsoniter.ArrayValue:
		s := v.SetEmptySlice()
		it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			if it.WhatIsNext() == jsoniter.NilValue {
				it.ReadNil()
				s.AppendEmpty()
				return true
			}
			readValue(it, s.AppendEmpty())
			return true
		})
	case jsoniter.ObjectValue:
		m := v.SetEmptyMap()
		it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			putValue(it, m, validString(key))
			return true
		})
	default:
		it.Skip()
	}
}

// setNumber keeps integers as Int (Backstage attributes like templateSteps) and everything else as Double.
func setNumber(v pcommon.Value, n string) {
	if !strings.ContainsAny(n, ".eE") {
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			v.SetInt(i)
			return
		}
	}
	f, _ := strconv.ParseFloat(n, 64) // json-iterator validated the number; overflow gives ±Inf
	v.SetDouble(f)
}

// readEvents calls fn for each element of a JSON array (or for a single object sent alone, when allowSingle),
// counting the events against max.
func readEvents(it *jsoniter.Iterator, max int, allowSingle bool, fn func(it *jsoniter.Iterator, index int)) error {
	switch next := it.WhatIsNext(); {
	case next == jsoniter.ObjectValue && allowSingle:
		fn(it, 0)
		return nil
	case next != jsoniter.ArrayValue:
		return fmt.Errorf("%w: expected a JSON array of events", ErrMalformed)
	}
	n := 0
	var tooMany error
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		if max > 0 && n >= max {
			tooMany = &TooManyEventsError{Count: n + 1, Max: max}
			return false
		}
		fn(it, n)
		n++
		return true
	})
	if tooMany != nil {
		return tooMany
	}
	return nil
}

// newResult creates the result with one resource and scope for the events of a JSON request.
func newResult(req *Request) (Result, plog.LogRecordSlice) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	setResource(rl.Resource().Attributes(), req)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(req.Scope)
	return Result{Logs: ld}, sl.LogRecords()
}

// newEvent appends the record of the next event, sized for a typical Backstage event's attributes.
func newEvent(records plog.LogRecordSlice, format string) event {
	rec := records.AppendEmpty()
	rec.Attributes().EnsureCapacity(16)
	return event{rec: rec, format: format}
}

// finishAll validates the decoded events and removes the rejected ones from records.
func finishAll(events []event, records plog.LogRecordSlice, opts *Options, req *Request, res *Result) {
	rejected := 0
	for i := range events {
		if err := events[i].finish(opts, req, i); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Reason: err.reason, Message: err.message})
			events[i].rec.SetEventName("") // marks the record for removal below
			rejected++
		}
	}
	res.Accepted = len(events) - rejected
	if rejected > 0 {
		records.RemoveIf(func(lr plog.LogRecord) bool { return lr.EventName() == "" })
	}
}
