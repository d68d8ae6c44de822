package connect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// ErrNoCredentials is wrapped when no AWS credentials were found.
var ErrNoCredentials = errors.New("no AWS credentials")

// credentialsHint names what to set; every process says the same (each
// reports ErrNoCredentials from CheckCredentials).
const credentialsHint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared credentials file"

// AWSConfig loads the standard AWS configuration chain (environment,
// shared files, profiles) for a process that must reach only the
// endpoints it was given. The EC2 instance metadata service is off unless
// imdsAllowed: with no credentials set, the SDK's default chain would
// otherwise send requests to 169.254.169.254, off the machine, from a test
// harness. The region defaults to us-east-1.
func AWSConfig(ctx context.Context, imdsAllowed bool) (aws.Config, error) {
	state := imds.ClientDisabled
	if imdsAllowed {
		state = imds.ClientEnabled
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithEC2IMDSClientEnableState(state))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// CheckCredentials retrieves credentials once, at start, so that a missing
// credential is a clear error naming what to set rather than every later
// request failing (a coordinator then handles no event and says little).
// The credentials stay cached in cfg.
func CheckCredentials(ctx context.Context, cfg *aws.Config) error {
	if cfg.Credentials == nil {
		return fmt.Errorf("%w: %s", ErrNoCredentials, credentialsHint)
	}
	cfg.Credentials = aws.NewCredentialsCache(cfg.Credentials)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return fmt.Errorf("%w (%s): %v", ErrNoCredentials, credentialsHint, err)
	}
	return nil
}
