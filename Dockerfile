# kpm in a container: compile with the official Deno image, run from a small image as a non-root user.
#
#   docker build -t kpm .
#   docker run --rm kpm --version
#   echo "$TOKEN" | docker run --rm -i -e KCL_PKG_PATH=/tmp/kpm kpm registry login -u ci --password-stdin ghcr.io
#
# Multi-platform: `docker buildx build --platform linux/amd64,linux/arm64 -t kpm .` compiles natively in each
# platform's build stage (deno compile for the host target). See docs/install.md.

# --- stage 1: compile -------------------------------------------------------------------------------------
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
# Only what the executable is built from (see .dockerignore); deno.lock pins the npm packages.
COPY deno.json deno.lock main.ts ./
COPY lib/ lib/
COPY scripts/compile_all.ts scripts/
# Fetch the npm packages in their own layer, then compile with the same flags as `deno task compile`
# (scripts/compile_all.ts is the one source of truth): writes dist/kpm for this platform.
RUN deno install --entrypoint main.ts \
 && deno task compile \
 && ./dist/kpm --version

# --- stage 2: runtime -------------------------------------------------------------------------------------
# The compiled kpm links glibc and libgcc only: distroless/cc has exactly those (and CA certificates).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/kpm /usr/local/bin/kpm
# Everything else is configured by the environment: KPM_REG, KPM_REPO, KCL_PKG_PATH, DOCKER_CONFIG,
# OCI_REG_PLAIN_HTTP, HTTP_PROXY/HTTPS_PROXY/NO_PROXY.
ENV HOME=/home/nonroot \
    KCL_PKG_PATH=/home/nonroot/.kcl/kpm \
    NO_COLOR=1
USER nonroot:nonroot
# /workspace: mount the folder to work in there, as `docker run -v $(pwd):/workspace IMAGE pull REF` does
WORKDIR /workspace
ENTRYPOINT ["kpm"]
CMD ["--help"]
