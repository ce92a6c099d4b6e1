package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-auth/portcullis/models"
)

// StatusResponse answers the health endpoints.
type StatusResponse struct {
	Status string `json:"status" example:"ok" validate:"required"`
} //	@name	StatusResponse

// ServiceInfo says what answers here and where its documentation is.
type ServiceInfo struct {
	Name    string       `json:"name" example:"Portcullis" validate:"required"`
	Version string       `json:"version" example:"v1.2.0" validate:"required"`
	Links   ServiceLinks `json:"links" validate:"required"`
} //	@name	ServiceInfo

// ServiceLinks point to the API documentation.
type ServiceLinks struct {
	SwaggerUI string `json:"swaggerUi" example:"/swagger/index.html" validate:"required"`
	OpenAPI   string `json:"openapi" example:"/openapi.yaml" validate:"required"`
} //	@name	ServiceLinks

// Index answers GET /: the service's name and version, and where to read
// about its API.
//
//	@Summary	What answers here
//	@ID		getServiceInfo
//	@Description	The service's name and version, with links to Swagger UI and the OpenAPI document.
//	@Tags		operations
//	@Success	200	{object}	ServiceInfo
//	@Router		/ [get]
func Index(version string) gin.HandlerFunc {
	info := ServiceInfo{Name: "Portcullis", Version: version, Links: ServiceLinks{SwaggerUI: "/swagger/index.html", OpenAPI: "/openapi.yaml"}}
	return func(c *gin.Context) { c.JSON(http.StatusOK, info) }
}

// Pinger checks the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Healthz reports that the process is alive; it checks no dependency.
//
//	@Summary	Liveness
//	@ID		getHealth
//	@Description	Answers 200 while the process runs; it checks no dependency. Use it for liveness probes.
//	@Tags		operations
//	@Success	200	{object}	StatusResponse
//	@Router		/healthz [get]
func Healthz() gin.HandlerFunc {
	return func(c *gin.Context) { c.JSON(http.StatusOK, StatusResponse{Status: "ok"}) }
}

// Readyz reports whether this instance should receive traffic: the database
// answers within a second and the instance is not draining for shutdown.
//
//	@Summary	Readiness
//	@ID		getReadiness
//	@Description	Answers 200 when the database answers within a second and the instance is not shutting down, else 503. Use it for readiness probes.
//	@Tags		operations
//	@Success	200	{object}	StatusResponse
//	@Router		/readyz [get]
func Readyz(db Pinger, draining func() bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if draining() {
			WriteError(c, &models.Error{Kind: models.Unavailable, Message: "shutting down", RetryAfterSeconds: 1})
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			WriteError(c, &models.Error{Kind: models.Unavailable, Message: "the database is unreachable", RetryAfterSeconds: 5, Err: err})
			return
		}
		c.JSON(http.StatusOK, StatusResponse{Status: "ok"})
	}
}

// MetricsHandler serves the registry in the Prometheus text format.
//
//	@Summary	Prometheus metrics
//	@ID		getMetrics
//	@Description	Go runtime and process metrics, database pool statistics, and portcullis_* metrics: HTTP requests by method (OTHER for non-standard methods), route template and status with latency, login and refresh outcomes, revocations, mail by type and outcome (never telling whether an address has an account), and the password-hash queue. For the operator: in development on the main port; in production on the main port only with `Authorization: Bearer <AUTH_METRICS_TOKEN>`, or only on AUTH_METRICS_ADDR. A set AUTH_METRICS_TOKEN is required wherever /metrics is served.
//	@Tags		operations
//	@Produce	plain,json
//	@Success	200	{string}	string	"Prometheus text exposition format"
//	@Failure	401	{object}	ErrorResponse	"unauthenticated: AUTH_METRICS_TOKEN is set and the request lacks Authorization: Bearer with it"
//	@Failure	404	{object}	ErrorResponse	"not_found: AUTH_METRICS_ADDR is set (and /metrics is served only there), or production without AUTH_METRICS_TOKEN"
//	@Router		/metrics [get]
func MetricsHandler(g prometheus.Gatherer) gin.HandlerFunc {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}
