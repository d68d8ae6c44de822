package history

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// lineBuf is a pooled buffer for one record, with a JSON encoder on it
// for the records without a fast path.
type lineBuf struct {
	b   bytes.Buffer
	enc *json.Encoder
}

func newLineBuf() any {
	lb := &lineBuf{}
	lb.enc = json.NewEncoder(&lb.b)
	lb.enc.SetEscapeHTML(false)
	return lb
}

// encode writes rec as one JSON line into lb. An upload record, one per
// upload, is appended by hand (encoding/json allocates for each of its four
// timestamps and for its omitzero field); the result is byte for byte what
// encoding/json writes, which TestAppendUpload_SameAsEncodingJSON checks
// on every field. Anything the fast path cannot write exactly (a string
// that needs escaping, a time json refuses) falls back to encoding/json.
func (lb *lineBuf) encode(rec any) error {
	lb.b.Reset()
	var u *Upload
	switch r := rec.(type) {
	case *Upload:
		u = r
	case Upload:
		u = &r
	}
	if u != nil {
		if line, ok := appendUpload(lb.b.AvailableBuffer(), u); ok {
			lb.b.Write(line)
			return nil
		}
	}
	return lb.enc.Encode(rec)
}

// appendUpload appends u as encoding/json would, with a newline; ok is
// false when a value needs encoding/json's own handling.
func appendUpload(b []byte, u *Upload) ([]byte, bool) {
	ok := true
	str := func(key, s string, omitEmpty bool) {
		if omitEmpty && s == "" {
			return
		}
		b = append(b, key...)
		b, ok = appendPlainString(b, s, ok)
	}
	num := func(key string, n int64, omitEmpty bool) {
		if omitEmpty && n == 0 {
			return
		}
		b = append(b, key...)
		b = strconv.AppendInt(b, n, 10)
	}
	tm := func(key string, t time.Time) {
		b = append(b, key...)
		b, ok = appendTime(b, t, ok)
	}
	b = append(b, '{')
	str(`"t":`, u.T, false)
	str(`,"id":`, u.ID, false)
	str(`,"user":`, u.User, false)
	str(`,"device":`, u.Device, false)
	str(`,"path":`, u.Path, false)
	num(`,"base":`, u.Base, false)
	num(`,"size":`, u.Size, false)
	str(`,"sha256":`, u.SHA256, false)
	tm(`,"intended":`, u.Intended)
	tm(`,"start":`, u.Start)
	tm(`,"staged":`, u.Staged)
	tm(`,"done":`, u.Done)
	str(`,"outcome":`, string(u.Outcome), false)
	num(`,"version":`, u.Version, true)
	str(`,"copy":`, u.Copy, true)
	num(`,"polls":`, int64(u.Polls), false)
	b = append(b, `,"push":`...)
	b = strconv.AppendBool(b, u.Push)
	str(`,"phase":`, u.Phase, true)
	str(`,"error":`, u.Error, true)
	str(`,"reason":`, u.Reason, true)
	num(`,"parts":`, int64(u.Parts), true)
	if !u.Ready.IsZero() {
		tm(`,"ready":`, u.Ready)
	}
	b = append(b, '}', '\n')
	return b, ok
}

// appendPlainString quotes s when it is printable ASCII without '"' or
// '\\' (what encoding/json writes unchanged); otherwise it reports !ok.
func appendPlainString(b []byte, s string, ok bool) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), ok
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds), for the times it accepts: years 0-9999 and a zone offset
// of whole minutes under 24 hours.
func appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), ok
}
