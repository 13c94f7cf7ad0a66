module maplab/payment

go 1.19

require (
	maplab/gomaps v0.0.0
	maplab/gotel v0.0.0
)

replace (
	maplab/gomaps => ../../../maps/go
	maplab/gotel => ../../../harness/runtime/go
)
