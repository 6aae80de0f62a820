# Sourced by scripts/stack: the replicated engines (`scripts/stack up --replicated`).
#
# A three-node Kafka KRaft cluster (each node broker + controller, a three-voter quorum, so one
# node may die; topics replicated 3 times with min.insync.replicas 2) and a Redis primary with
# one replica watched by three Sentinels (quorum 2). Everything on loopback, on ports of its
# own (below), with its own data, logs and pid files under $R_DIR, so it runs beside the
# default single-node stack. Postgres and Elasticsearch are not replicated here: `env
# --replicated` points at the default stack's.

R_DIR="${PULSE_STACK_REPLICATED_DIR:-$STACK/replicated}"
IFS=, read -r -a R_KAFKA_PORTS <<<"${PULSE_STACK_REPLICATED_KAFKA_PORTS:-19092,19093,19094}"
IFS=, read -r -a R_CONTROLLER_PORTS <<<"${PULSE_STACK_REPLICATED_CONTROLLER_PORTS:-19192,19193,19194}"
R_REDIS_PORT="${PULSE_STACK_REPLICATED_REDIS_PORT:-16379}"
R_REPLICA_PORT="${PULSE_STACK_REPLICATED_REPLICA_PORT:-16380}"
IFS=, read -r -a R_SENTINEL_PORTS <<<"${PULSE_STACK_REPLICATED_SENTINEL_PORTS:-26379,26380,26381}"
R_KAFKA_HEAP="${PULSE_STACK_REPLICATED_KAFKA_HEAP:-256m}"  # three JVMs on a small machine
R_MASTER=pulse
R_NODES=(1 2 3)

r_layout() { mkdir -p "$R_DIR/data" "$R_DIR/logs" "$R_DIR/run" "$R_DIR/conf"; }
r_join() { local IFS=,; echo "$*"; }
r_bootstrap() { local p out=(); for p in "${R_KAFKA_PORTS[@]}"; do out+=("$HOST:$p"); done; r_join "${out[@]}"; }
r_sentinels() { local p out=(); for p in "${R_SENTINEL_PORTS[@]}"; do out+=("$HOST:$p"); done; r_join "${out[@]}"; }
r_voters() {
  local i out=()
  for i in "${R_NODES[@]}"; do out+=("$i@$HOST:${R_CONTROLLER_PORTS[$((i - 1))]}"); done
  r_join "${out[@]}"
}

# ---------------------------------------------------------------- Kafka, three nodes
r_kafka_pidfile() { echo "$R_DIR/run/kafka-$1.pid"; }
r_kafka_pid() { local p; p="$(pid_from "$(r_kafka_pidfile "$1")")"; pid_matches "$p" "kafka-$1.properties" && echo "$p" || true; }

r_kafka_config() {  # r_kafka_config NODE
  local n="$1" port="${R_KAFKA_PORTS[$(($1 - 1))]}" cport="${R_CONTROLLER_PORTS[$(($1 - 1))]}"
  mkdir -p "$R_DIR/data/kafka-$n"
  cat >"$R_DIR/conf/kafka-$n.properties" <<CONF
# written by scripts/stack --replicated: node $n of 3 (broker + controller), loopback only
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(r_voters)
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$cport
advertised.listeners=PLAINTEXT://$HOST:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$R_DIR/data/kafka-$n
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
CONF
}

r_kafka_start() {  # launch the nodes that are not running; r_kafka_wait checks health
  local n cluster_id="" logf
  [ -s "$R_DIR/data/cluster-id" ] && cluster_id="$(cat "$R_DIR/data/cluster-id")"
  if [ -z "$cluster_id" ]; then
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$R_DIR/logs/kafka-1.log" | tail -1)"
    echo "$cluster_id" >"$R_DIR/data/cluster-id"
  fi
  for n in "${R_NODES[@]}"; do
    logf="$R_DIR/logs/kafka-$n.log"
    if [ -n "$(r_kafka_pid "$n")" ]; then log "kafka-$n: already running"; continue; fi
    ensure_port_free "kafka-$n" "${R_KAFKA_PORTS[$((n - 1))]}"
    ensure_port_free "kafka-$n-controller" "${R_CONTROLLER_PORTS[$((n - 1))]}"
    r_kafka_config "$n"
    if [ ! -f "$R_DIR/data/kafka-$n/meta.properties" ]; then
      log "kafka-$n: formatting storage (cluster id $cluster_id)"
      kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$R_DIR/conf/kafka-$n.properties" \
        >>"$logf" 2>&1 || die "kafka-$n: storage format failed. Log: $logf"
    fi
    log "kafka-$n: starting on $HOST:${R_KAFKA_PORTS[$((n - 1))]}"
    echo "----- $(date -Is) scripts/stack up --replicated" >>"$logf"
    (
      cd "$R_DIR"
      exec setsid nohup "$(java_bin)" "-Xms$R_KAFKA_HEAP" "-Xmx$R_KAFKA_HEAP" -server -XX:+UseSerialGC \
        -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$CONF/kafka-log4j2.properties" -Dkafka.logs.dir="$R_DIR/logs" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$R_DIR/conf/kafka-$n.properties" </dev/null >>"$logf" 2>&1
    ) &
    echo $! >"$(r_kafka_pidfile "$n")"
  done
}

# Healthy: every node is registered in the cluster's metadata, as one of its peers sees it.
r_kafka_healthy() {
  "$REPO/.venv/bin/python" - "$(r_bootstrap)" <<'PY' >/dev/null 2>&1
import sys
from confluent_kafka.admin import AdminClient
md = AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0}).list_topics(timeout=5)
sys.exit(0 if len(md.brokers) == 3 else 1)
PY
}

r_kafka_wait() {
  _r_kafka_ok() {
    local n
    for n in "${R_NODES[@]}"; do  # the pid of a node just launched may not have exec'd java yet
      [ -d "/proc/$(pid_from "$(r_kafka_pidfile "$n")")" ] ||
        die "kafka-$n exited during startup. Log: $R_DIR/logs/kafka-$n.log"
    done
    r_kafka_healthy
  }
  wait_until "kafka (3 nodes)" "$R_DIR/logs/kafka-1.log" _r_kafka_ok
  log "kafka: 3 nodes healthy ($(r_bootstrap))"
}

r_kafka_down() {
  # All nodes at once: stopped one by one, the last ones wait for a controller quorum that is
  # already gone, and each would sit out the whole STOP_SECONDS.
  local n pid pids=()
  for n in "${R_NODES[@]}"; do
    pid="$(r_kafka_pid "$n")"
    if [ -n "$pid" ]; then log "kafka-$n: stopping"; as_root kill -TERM "$pid" 2>/dev/null || true; pids+=("$n:$pid"); fi
  done
  for n in "${pids[@]}"; do stop_pid "kafka-${n%%:*}" "${n#*:}"; done
  for n in "${R_NODES[@]}"; do rm -f "$(r_kafka_pidfile "$n")"; done
}

# ---------------------------------------------------------------- Redis primary, replica, 3 Sentinels
r_redis_names() { echo primary replica sentinel-1 sentinel-2 sentinel-3; }
r_redis_port() {
  case "$1" in
    primary) echo "$R_REDIS_PORT" ;;
    replica) echo "$R_REPLICA_PORT" ;;
    sentinel-*) echo "${R_SENTINEL_PORTS[$((${1#sentinel-} - 1))]}" ;;
  esac
}
r_redis_pidfile() { echo "$R_DIR/run/redis-$1.pid"; }
r_redis_pid() { local p; p="$(pid_from "$(r_redis_pidfile "$1")")"; pid_matches "$p" redis && echo "$p" || true; }
r_ping() { [ "$(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null)" = PONG ]; }

r_redis_start() {  # r_redis_start NAME
  local name="$1" port conf
  port="$(r_redis_port "$name")"
  conf="$R_DIR/conf/redis-$name.conf"
  ensure_port_free "redis-$name" "$port"
  mkdir -p "$R_DIR/data/redis-$name"
  # Written once: after a failover the Sentinels rewrite the files (who replicates whom), and a
  # node restarted later must come back with what they learnt, not as the first primary.
  if [ ! -f "$conf" ]; then
    cat >"$conf" <<CONF
# written by scripts/stack --replicated
bind $HOST
port $port
protected-mode yes
daemonize yes
pidfile $(r_redis_pidfile "$name")
logfile $R_DIR/logs/redis-$name.log
dir $R_DIR/data/redis-$name
CONF
    case "$name" in
      primary) printf 'appendonly yes\nappendfsync everysec\n' >>"$conf" ;;
      replica) printf 'appendonly yes\nappendfsync everysec\nreplicaof %s %s\n' "$HOST" "$R_REDIS_PORT" >>"$conf" ;;
      sentinel-*)
        cat >>"$conf" <<CONF
sentinel monitor $R_MASTER $HOST $R_REDIS_PORT 2
sentinel down-after-milliseconds $R_MASTER 2000
sentinel failover-timeout $R_MASTER 10000
sentinel parallel-syncs $R_MASTER 1
CONF
        ;;
    esac
  fi
  log "redis-$name: starting on $HOST:$port"
  if [[ "$name" == sentinel-* ]]; then
    redis-server "$conf" --sentinel || die "redis-$name failed to start. Log: $R_DIR/logs/redis-$name.log"
  else
    redis-server "$conf" || die "redis-$name failed to start. Log: $R_DIR/logs/redis-$name.log"
  fi
}

r_redis_up() {
  local name
  for name in $(r_redis_names); do
    if [ -n "$(r_redis_pid "$name")" ]; then log "redis-$name: already running"; else r_redis_start "$name"; fi
    wait_until "redis-$name" "$R_DIR/logs/redis-$name.log" r_ping "$(r_redis_port "$name")"
  done
  wait_until "redis sentinels" "$R_DIR/logs/redis-sentinel-1.log" r_sentinels_agree
  log "redis: primary, replica and 3 sentinels healthy ($(r_sentinels))"
}

# Every Sentinel names a primary and sees the two other Sentinels.
r_sentinels_agree() {
  local port
  for port in "${R_SENTINEL_PORTS[@]}"; do
    redis-cli -h "$HOST" -p "$port" sentinel get-master-addr-by-name "$R_MASTER" 2>/dev/null | grep -q . || return 1
    [ "$(redis-cli -h "$HOST" -p "$port" sentinel master "$R_MASTER" 2>/dev/null |
      awk 'prev == "num-other-sentinels" { print; exit } { prev = $0 }')" = 2 ] || return 1
  done
}

r_redis_down() {
  local name pid
  for name in sentinel-3 sentinel-2 sentinel-1 replica primary; do
    pid="$(r_redis_pid "$name")"
    if [ -n "$pid" ]; then
      log "redis-$name: stopping"
      redis-cli -h "$HOST" -p "$(r_redis_port "$name")" shutdown nosave >/dev/null 2>&1 || true
      stop_pid "redis-$name" "$pid"
    fi
    rm -f "$(r_redis_pidfile "$name")"
  done
}

# ---------------------------------------------------------------- commands
r_cmd_env() {
  cat <<ENV
export PULSE_DATABASE_URL=postgresql+psycopg://pulse:pulse@$HOST:$PG_PORT/pulse
export PULSE_REDIS_URL=redis+sentinel://$(r_sentinels)/$R_MASTER/0
export PULSE_KAFKA_BOOTSTRAP_SERVERS=$(r_bootstrap)
export PULSE_KAFKA_REPLICATION_FACTOR=3
export PULSE_ELASTICSEARCH_URL=$(es_url)
ENV
}

r_cmd_up() {
  ensure_packages
  ensure_layout
  r_layout
  kafka_fetch
  [ -f "$CONF/kafka-log4j2.properties" ] || kafka_write_config  # the shared log4j2 file
  r_redis_up
  r_kafka_start
  r_kafka_wait
  log "replicated stack is up. Use it with: eval \"\$(scripts/stack env --replicated)\""
}

r_cmd_down() {
  r_layout
  r_kafka_down
  r_redis_down
}

r_cmd_status() {
  local n pid h name
  r_layout
  printf '%-14s %-22s %-8s %-10s %s\n' ENGINE STATE PID RSS URL
  for n in "${R_NODES[@]}"; do
    pid="$(r_kafka_pid "$n")"; h=no; [ -n "$pid" ] && port_open "${R_KAFKA_PORTS[$((n - 1))]}" && h=yes
    status_line "kafka-$n" "$pid" "$h" "$HOST:${R_KAFKA_PORTS[$((n - 1))]}"
  done
  for name in $(r_redis_names); do
    pid="$(r_redis_pid "$name")"; h=no; [ -n "$pid" ] && r_ping "$(r_redis_port "$name")" && h=yes
    status_line "redis-$name" "$pid" "$h" "$HOST:$(r_redis_port "$name")"
  done
  printf 'logs: %s   data: %s\n' "$R_DIR/logs" "$R_DIR/data"
}

r_cmd_reset() {
  r_cmd_down
  log "wiping the replicated stack's data"
  rm -rf "$R_DIR/data" "$R_DIR/run" "$R_DIR/conf"
}
