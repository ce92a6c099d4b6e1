# syntax=docker/dockerfile:1
# Build: docker build -t portcullis .   (module github.com/portcullis-auth/portcullis)
# Run:   docker run -p 8080:8080 -v portcullis-data:/data -e AUTH_SESSION_KEYS=… portcullis
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same flags .ci/run builds with.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/portcullis .
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portcullis /usr/local/bin/portcullis
COPY --from=build --chown=nonroot:nonroot /out/data /data
WORKDIR /data
ENV AUTH_ADDR=:8080 \
    AUTH_DATABASE_URL=sqlite:/data/auth.db
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/portcullis", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
