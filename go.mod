module github.com/pgchaos/pgchaos

go 1.26.8
