package main

import (
	"context"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/internal/testsrv"
)

// TestHandle_NoCredentials_NoIMDS: without credentials the handler's
// event fails, and the EC2 instance metadata service is never asked
// unless STORMSIM_EC2_IMDS=1 (the control case, which shows the recorder
// sees such requests).
func TestHandle_NoCredentials_NoIMDS(t *testing.T) {
	for _, tc := range []struct {
		name     string
		imds     string
		wantIMDS bool
	}{
		{"default", "", false},
		{"STORMSIM_EC2_IMDS=1", "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imds := testsrv.NoAWSCredentials(t)
			s3 := testsrv.NewRecorder(t)
			mr := miniredis.RunT(t)
			env := map[string]string{"STORMSIM_BUCKET": bucket, "STORMSIM_REDIS_URL": "redis://" + mr.Addr(),
				"STORMSIM_S3_ENDPOINT": s3.URL, "STORMSIM_EC2_IMDS": tc.imds}
			h, err := newHandler(context.Background(), func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			defer h.rdb.Close()
			var rec events.S3EventRecord
			rec.EventName = "ObjectCreated:Put"
			rec.S3.Bucket.Name, rec.S3.Object.Key = bucket, "staging/alice/up1"
			if err := h.handle(context.Background(), events.S3Event{Records: []events.S3EventRecord{rec}}); err == nil {
				t.Error("an event was handled without credentials")
			}
			if got := imds.Requests(); (len(got) > 0) != tc.wantIMDS {
				t.Errorf("instance metadata requests %v, want any: %v", got, tc.wantIMDS)
			}
			if got := s3.Requests(); len(got) > 0 {
				t.Errorf("unsigned requests reached the S3 endpoint: %v", got)
			}
		})
	}
}
