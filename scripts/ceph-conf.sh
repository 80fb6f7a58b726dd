# Sourced by s3-server.sh and the minio stand-in's entrypoint (compose-standins/minio-standin.sh):
# the one configuration of a single-node throwaway Ceph cluster serving S3 (one monitor on loopback,
# one in-memory OSD, pool size 1, no cephx, a RADOS Gateway on the given endpoint).
# ceph_conf STATE MON_PORT MSGR_MIN MSGR_MAX RGW_ENDPOINT prints it: daemons keep their data, pid
# files, sockets and logs under STATE, the OSD's and the gateway's messengers bind MSGR_MIN-MSGR_MAX
# on loopback, and the gateway serves S3 on RGW_ENDPOINT (ADDR:PORT). A new fsid each time.
ceph_conf() { # state mon_port msgr_min msgr_max rgw_endpoint
  cat <<EOF
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon_host = v2:127.0.0.1:$2
mon_initial_members = a
public_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_port_min = $3
ms_bind_port_max = $4
# No cephx: a private throwaway cluster on loopback. Without crc the gateway hangs for 300 s.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
run_dir = $1/run
admin_socket = $1/run/\$name.asok
pid_file = $1/run/\$name.pid
log_file = $1/log/\$name.log
mon_cluster_log_file = $1/log/cluster.log
keyring = /dev/null
# Cold start in ~2 s instead of ~13 s.
paxos_propose_interval = 0.1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
[mon]
mon_data = $1/mon
[osd]
osd_data = $1/osd
osd_objectstore = memstore
memstore_device_bytes = 1073741824
# A memstore OSD stopped with the default fast shutdown loses its placement groups.
osd_fast_shutdown = false
[client.rgw]
# tcp_nodelay: without it a 10 kB GET takes ~47 ms (Nagle against delayed ACKs).
rgw_frontends = beast endpoint=$5 tcp_nodelay=1
rgw_data = $1/rgw
rgw_enable_usage_log = false
rgw_lc_debug_interval = -1
EOF
}

# The fsid of the configuration in FILE.
ceph_conf_fsid() { sed -n 's/^fsid = //p' "$1"; }
