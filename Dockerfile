# syntax=docker/dockerfile:1
# One image for every JustNet process: `justnet serve <service>` picks which one runs
# (deploy/k8s sets the arguments per Deployment; tests/deploy checks they agree).
#
# Build: docker build -t justnet:0.1.0 .
# Run:   docker run --rm -e JUSTNET_NETWORK=SEAJUST -p 8080:8080 justnet:0.1.0 serve gateway

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: wheels for the pinned lock and the project (compilers live only here)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip wheel --wheel-dir /wheels -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY protos protos
COPY services services
COPY gateway gateway
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---- final: runtime wheels only, no compiler, no protoc, non-root
FROM ${PYTHON_IMAGE} AS final
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    JUSTNET_DATA_DIR=/var/lib/justnet
RUN groupadd --system --gid 10001 justnet \
 && useradd --system --uid 10001 --gid justnet --home-dir /var/lib/justnet --shell /usr/sbin/nologin justnet \
 && install -d -o justnet -g justnet /var/lib/justnet
COPY --from=build /wheels /wheels
# grpcio-tools (protoc) is a runtime pin only because `scripts/genproto.py` shares the
# lock; the running node never compiles protos, so it is removed from the final image.
RUN pip install --no-index --find-links /wheels justnet \
 && pip uninstall -y grpcio-tools setuptools \
 && rm -rf /wheels \
 && ! command -v gcc && ! python -c "import grpc_tools"
USER 10001:10001
WORKDIR /var/lib/justnet
# gateway, directory, requests, events, federation internal, federation peer (mutual TLS)
EXPOSE 8080 50051 50052 50053 50054 50443
ENTRYPOINT ["justnet"]
CMD ["serve", "gateway"]
