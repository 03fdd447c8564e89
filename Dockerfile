# One image for every JustNet process: `justnet serve <service>` picks which one runs
# (deploy/k8s sets the arguments per Deployment; tests/deploy checks they agree).
#
# Build offline (no registry needed): scripts/build_image makes a Debian bookworm base with
# debootstrap, imports it and builds this file on it; see README "Container image".
# Elsewhere any Debian bookworm image with python3.11 and python3.11-venv works as the base:
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm -t justnet:0.1.0 .
# Run:   docker run --rm -e JUSTNET_NETWORK=SEAJUST -p 8080:8080 justnet:0.1.0 serve gateway
# (No `# syntax=` line: it would make BuildKit pull a frontend image.)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment from the pinned lock, then the project
FROM ${PYTHON_IMAGE} AS build
# PEM certificates of a TLS-inspecting proxy between the build and PyPI, if there is one
# (scripts/build_image passes those its host trusts beyond Debian's set). This stage only
# trusts them: the final image never does.
ARG BUILD_EXTRA_CA_CERTS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CERT=/tmp/build-ca.pem LANG=C.UTF-8
RUN cat /etc/ssl/certs/ca-certificates.crt >/tmp/build-ca.pem \
 && printf '%s\n' "$BUILD_EXTRA_CA_CERTS" >>/tmp/build-ca.pem \
 && python3.11 -m venv /opt/justnet
COPY requirements/runtime.txt /src/requirements/runtime.txt
# Binary wheels only: no compiler in any stage (every pin has a manylinux wheel for 3.11).
RUN /opt/justnet/bin/pip install --only-binary=:all: -r /src/requirements/runtime.txt
COPY pyproject.toml README.md /src/
COPY protos /src/protos
COPY services /src/services
COPY gateway /src/gateway
# grpcio-tools (protoc) is a runtime pin only because `scripts/genproto.py` shares the
# lock; the running node never compiles protos, so it (and setuptools, which only it
# needs) is removed before the environment is copied into the final stage; so is pip.
RUN /opt/justnet/bin/pip install --no-deps /src \
 && /opt/justnet/bin/pip uninstall -y grpcio-tools setuptools \
 && /opt/justnet/bin/python -m pip uninstall -y pip

# ---- final: the environment only, no compiler, no protoc, non-root
FROM ${PYTHON_IMAGE} AS final
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    PATH=/opt/justnet/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    JUSTNET_DATA_DIR=/var/lib/justnet
RUN groupadd --system --gid 10001 justnet \
 && useradd --system --uid 10001 --gid justnet --home-dir /var/lib/justnet --shell /usr/sbin/nologin justnet \
 && install -d -o justnet -g justnet /var/lib/justnet
COPY --from=build /opt/justnet /opt/justnet
RUN ! command -v gcc && ! command -v cc && ! command -v protoc \
 && ! python -c "import grpc_tools" 2>/dev/null \
 && justnet --help >/dev/null
USER 10001:10001
WORKDIR /var/lib/justnet
# gateway, directory, requests, events, federation internal, federation peer (mutual TLS)
EXPOSE 8080 50051 50052 50053 50054 50443
ENTRYPOINT ["justnet"]
CMD ["serve", "gateway"]
