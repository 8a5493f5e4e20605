module cloudlink.invalid/sss-check

go 1.26.0

require github.com/nttcom/eclcloud/v2 v2.7.0
