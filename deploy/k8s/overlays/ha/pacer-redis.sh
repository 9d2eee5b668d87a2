#!/bin/sh
# The Redis pods of the ha overlay: pacer-redis-0..2, each a redis-server and a sentinel.
#   pacer-redis.sh redis      start this pod's redis-server, as the primary or as a replica
#   pacer-redis.sh sentinel   start this pod's sentinel (configured once, on the data volume)
#   pacer-redis.sh pre-stop   a primary being stopped asks the sentinels to promote a replica
# The primary is whoever the sentinels name; on the very first start nobody does, and it is
# pod 0. Every node and sentinel is known by its stable DNS name (<pod>.<headless service>),
# never by its pod IP, which changes when the pod is rescheduled.
set -eu

SERVICE_NAME=pacer
SELF="$(hostname).${REDIS_SERVICE}"

sentinels() {
  for i in 0 1 2; do echo "${STATEFULSET}-${i}.${REDIS_SERVICE}"; done
}

# The primary the sentinels name now, or nothing if no sentinel answers.
named_primary() {
  for host in $(sentinels); do
    answer=$(redis-cli -h "$host" -p 26379 --raw \
      SENTINEL get-master-addr-by-name "$SERVICE_NAME" 2>/dev/null | head -n 1) || true
    case "$answer" in
      "" | *" "* | ERR*) ;;  # no answer, or an error message
      *) echo "$answer"; return 0 ;;
    esac
  done
}

primary() {
  found=$(named_primary)
  echo "${found:-${STATEFULSET}-0.${REDIS_SERVICE}}"
}

case "${1:-}" in
  redis)
    set -- --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
      --dir /data --replica-announce-ip "$SELF"
    current=$(primary)
    if [ "$current" != "$SELF" ]; then
      set -- "$@" --replicaof "$current" 6379
    fi
    exec redis-server "$@"
    ;;
  sentinel)
    conf=/data/sentinel/sentinel.conf
    mkdir -p /data/sentinel
    if [ ! -f "$conf" ]; then  # later starts keep what Sentinel learned and wrote there
      cat > "$conf" <<CONF
port 26379
dir /data/sentinel
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${SELF}
sentinel monitor ${SERVICE_NAME} $(primary) 6379 2
sentinel down-after-milliseconds ${SERVICE_NAME} 5000
sentinel failover-timeout ${SERVICE_NAME} 60000
sentinel parallel-syncs ${SERVICE_NAME} 1
CONF
    fi
    exec redis-sentinel "$conf"
    ;;
  pre-stop)
    # Promoting now costs the ingest well under a second of 503s; waiting for the sentinels to
    # notice the primary gone costs down-after-milliseconds (5 s) and the election.
    [ "$(redis-cli --raw ROLE | head -n 1)" = master ] || exit 0
    for host in $(sentinels); do
      if redis-cli -h "$host" -p 26379 SENTINEL FAILOVER "$SERVICE_NAME" >/dev/null 2>&1; then
        break
      fi
    done
    for _ in $(seq 20); do
      [ "$(redis-cli --raw ROLE | head -n 1)" = master ] || exit 0
      sleep 1
    done
    ;;
  *)
    echo "usage: $0 redis|sentinel|pre-stop" >&2
    exit 2
    ;;
esac
