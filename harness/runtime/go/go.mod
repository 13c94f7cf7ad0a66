module maplab/gotel

go 1.19
