# Sourced by test-services.sh and s3-server.sh: choosing free loopback ports for private daemons.
#
# "Nothing listens there" is not "free": every outgoing TCP connection holds a local port from the
# kernel's ephemeral range (ip_local_port_range, 32768-60999 on Debian), and while it lives a daemon
# cannot bind that port. A test run opens thousands of connections, so a port chosen in that range
# can be taken between the check and the bind (CI saw Ceph's monitor refused, "Address already in
# use", on 43736). So the ranges the scripts pick from lie below the ephemeral range, apart from each
# other and from the ports Node's listen(0) hands out (which come from the ephemeral range):
#   10000-15999 the S3 gateway        16000-18999 Redis
#   19000-24999 Ceph's monitor + 24   25000-28499 RabbitMQ (+4000: its distribution port)

port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# The lowest port the kernel hands to outgoing connections.
ephemeral_floor() { awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768; }

# A port p in [lo, hi) with p .. p+span-1 free on host and, with an offset, p+offset too. Random,
# so two instances on one machine rarely try the same one.
free_ports() { # lo hi [span] [host] [offset]
  local lo=$1 hi=$2 span=${3:-1} host=${4:-127.0.0.1} offset=${5:-0} p i ok tries=0 floor
  floor="$(ephemeral_floor)"
  if [ $((hi + offset + span)) -gt "$floor" ]; then
    echo "[free-ports] $lo-$hi (+$offset, $span wide) reaches this machine's ephemeral ports ($floor and up): a connection may take one before the daemon binds it" >&2
  fi
  while [ $tries -lt 200 ]; do
    p=$((lo + RANDOM % (hi - lo)))
    ok=1
    for ((i = 0; i < span; i++)); do port_open $((p + i)) "$host" && { ok=""; break; }; done
    [ -n "$ok" ] && [ "$offset" -gt 0 ] && port_open $((p + offset)) "$host" && ok=""
    [ -n "$ok" ] && { echo "$p"; return 0; }
    tries=$((tries + 1))
  done
  echo "[free-ports] no free ports in $lo-$hi" >&2
  return 1
}
