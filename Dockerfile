# syntax=docker/dockerfile:1
# The gateway's image: static binaries on distroless static, non-root.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t engage-gateway:v1.2.3 .
#
# Without a container engine, `go run ./cmd/buildimage -version v1.2.3 -oci image-oci`
# builds the same image (same files, user, port, environment and health check).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /gateway . \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /engagesim ./cmd/engagesim \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /healthcheck ./cmd/healthcheck

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=devel
ARG REVISION=unknown
LABEL org.opencontainers.image.title="engage-gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/engagegql/gateway"
COPY --from=build /gateway /engagesim /healthcheck /
USER 65532:65532
# The demo (no ENGAGE_API_URL) otherwise listens on loopback only.
ENV LISTEN_ADDR=:8080
EXPOSE 8080
# No shell or curl in the image: /healthcheck is a static probe of
# http://127.0.0.1:<LISTEN_ADDR port>/healthz (give it /readyz for readiness).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/healthcheck"]
ENTRYPOINT ["/gateway"]
