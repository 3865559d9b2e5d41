"""Live ingest: the RTMP media server's callbacks (publish, publish-done, record-done), live HLS, and the
configuration of the nginx-rtmp server that `runmediaserver` runs."""
