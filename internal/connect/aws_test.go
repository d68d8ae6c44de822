package connect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/internal/testsrv"
)

// TestAWSConfig_CheckCredentials_NoIMDS: with no credentials set, the
// check fails at once naming the variables to set, and the SDK never asks
// the EC2 instance metadata service; with imdsAllowed (the control case)
// it does ask, which shows the recorder sees such requests.
func TestAWSConfig_CheckCredentials_NoIMDS(t *testing.T) {
	for _, tc := range []struct {
		name        string
		imdsAllowed bool
		wantIMDS    bool
	}{
		{"default: IMDS off", false, false},
		{"--imds: IMDS asked", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imds := testsrv.NoAWSCredentials(t)
			ctx := context.Background()
			cfg, err := AWSConfig(ctx, tc.imdsAllowed)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != "us-east-1" {
				t.Errorf("region %q", cfg.Region)
			}
			err = CheckCredentials(ctx, &cfg)
			if !errors.Is(err, ErrNoCredentials) {
				t.Fatalf("CheckCredentials = %v, want ErrNoCredentials", err)
			}
			for _, want := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			if got := imds.Requests(); (len(got) > 0) != tc.wantIMDS {
				t.Errorf("requests to the instance metadata endpoint: %v, want any: %v", got, tc.wantIMDS)
			}
		})
	}
}

// TestCheckCredentials_FromEnvironment: set variables are found.
func TestCheckCredentials_FromEnvironment(t *testing.T) {
	imds := testsrv.NoAWSCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "ak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sk")
	ctx := context.Background()
	cfg, err := AWSConfig(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCredentials(ctx, &cfg); err != nil {
		t.Fatal(err)
	}
	if got := imds.Requests(); len(got) > 0 {
		t.Errorf("asked the instance metadata endpoint: %v", got)
	}
}
