package main

import (
	"net/url"
	"strings"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim"
)

// tokenSecretEnv holds the deployment's token secret for --result-api: the
// variable cmd/lambda's result API reads (a flag would show it in ps).
const tokenSecretEnv = "STORMSIM_TOKEN_SECRET"

// resultAPIUsage is the help of --result-api.
const resultAPIUsage = "base URL of a deployed result API (e.g. the stack's ResultApiUrl): the devices poll it, with tokens signed by $" +
	tokenSecretEnv + ", and the run handles and delivers no events (the deployment's S3 notifications drive its coordinator); needs --s3 and --redis, the deployment's"

// remoteAPI checks --result-api against the other server flags and
// builds the run's sim.RemoteAPI, the secret read through getenv. Every
// error is a usage error.
func (s *serverOptions) remoteAPI(getenv func(string) string) (*sim.RemoteAPI, error) {
	u, err := url.Parse(s.resultAPI)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.RawQuery != "" {
		return nil, usagef("--result-api %q: want the API's base http:// or https:// URL", redactURL(s.resultAPI))
	}
	switch {
	case s.s3 == "" || s.redis == "":
		return nil, usagef("--result-api: needs --s3 and --redis, the servers of the deployment (the embedded ones are not the deployment's)")
	case s.external:
		return nil, usagef("--result-api: events go to the deployment's coordinator; --external hands them to simrun coordinator processes: use one or the other")
	case s.webhook != "":
		return nil, usagef("--result-api: the S3 server's notifications go to the deployment; --webhook would listen for them here")
	}
	secret := getenv(tokenSecretEnv)
	if len(secret) < 16 {
		return nil, usagef("--result-api: $%s: want the deployment's token secret (its TokenSecret, 16 bytes or more), got %d bytes", tokenSecretEnv, len(secret))
	}
	return &sim.RemoteAPI{URL: strings.TrimSuffix(u.String(), "/"), Tokens: coordinator.Tokens{Secret: []byte(secret)}}, nil
}
