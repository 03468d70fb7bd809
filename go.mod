module github.com/hookflow/hookflow

go 1.26.8
