# set; show settings; help set.
set retries 2
set all-down-try-anyway on
set default-action refuse
set query-timeout 900
set retries 4
set retries many
set max-outstanding-per-client 25%
set max-outstanding-per-client 0%
set control-idle-timeout 600
set default-action pool
set no-such-setting 1
set etcd http://127.0.0.1:2379
set retries
show settings
export
help set
