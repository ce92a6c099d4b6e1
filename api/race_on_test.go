//go:build race

package api_test

// raceEnabled reports that the race detector is on: timings are then not
// representative and timing comparisons are skipped (.ci/run runs them
// again without it).
const raceEnabled = true
