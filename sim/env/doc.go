// Package env is where a run's S3 and Redis live: the embedded
// environment (gofakes3 and miniredis in process, NewEmbedded), a remote
// one (real servers, NewRemote, with the S3 event webhook), the embedded
// stack as a long-running local service (StartService), and the counting
// of the requests a run makes (Counter). An Env carries no run state: the
// run wraps it, the environment never knows the run.
package env
