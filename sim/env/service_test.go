package env_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
)

func TestStartService_UploadThenPoll(t *testing.T) {
	ctx := context.Background()
	svc, err := env.StartService(ctx, env.ServiceOptions{Secret: []byte("s"), Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	client := env.NewS3Client(svc.S3URL, "us-east-1", credentials.NewStaticCredentialsProvider("a", "b", ""), http.DefaultClient)
	body := []byte("hello")
	sum := sha256.Sum256(body)
	u := coordinator.Upload{ID: "svc-1", User: "alice", Path: "a.txt", Device: "phone", SHA256: hex.EncodeToString(sum[:])}
	key := coordinator.StagingKey(u.User, u.ID)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(svc.Bucket), Key: &key,
		Body: bytes.NewReader(body), Metadata: coordinator.Metadata(u)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, svc.APIURL+"/v1/uploads/svc-1", nil)
		req.Header.Set("Authorization", "Bearer "+svc.Tokens.Token("alice"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r coordinator.Result
		_ = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if r.State == coordinator.StateCommitted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last answer %d %+v", resp.StatusCode, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := svc.Stats(); st.Emitted != 1 || st.Invocations != 1 {
		t.Errorf("delivery %+v", st)
	}
}
