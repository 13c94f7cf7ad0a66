module maplab/goclaims

go 1.19
