i=0; while [ -d /proc/4242 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; true
