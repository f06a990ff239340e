# The ssa image: one image, three roles chosen by the command
# (`ssa engine`, `ssa collect`, `ssa notify`; see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (pinned in pyproject.toml), so code changes reuse this layer.
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY collectors ./collectors
RUN pip install .

# What the processes read at run time: rules, the example inventory, notification routes.
COPY rules ./rules
COPY inventory ./inventory
COPY notify ./notify

# Not root: the icmp probe falls back to a TCP connect without raw sockets (it says so).
RUN useradd --system --home-dir /var/lib/ssa --create-home ssa \
    && mkdir -p /var/lib/ssa/state && chown -R ssa /var/lib/ssa
USER ssa
ENV HOME=/var/lib/ssa

EXPOSE 8080 8514 9108 9109
ENTRYPOINT ["ssa"]
CMD ["--help"]
