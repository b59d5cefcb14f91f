// Generated from scheduler/extproc/proto/*.proto by scheduler/extproc/proto/generate.ts; do not edit.

// protobufjs JSON descriptors (Root.toJSON); typed loosely because protobufjs declares them incompletely.
export const protoDescriptors: Readonly<Record<string, unknown>> = {
  nested: {
    envoy: {
      nested: {
        service: {
          nested: {
            ext_proc: {
              nested: {
                v3: {
                  nested: {
                    ExternalProcessor: {
                      methods: {
                        Process: {
                          requestType: 'ProcessingRequest',
                          requestStream: true,
                          responseType: 'ProcessingResponse',
                          responseStream: true,
                        },
                      },
                    },
                    BodySendMode: {
                      values: {
                        NONE: 0,
                        STREAMED: 1,
                        BUFFERED: 2,
                        BUFFERED_PARTIAL: 3,
                        FULL_DUPLEX_STREAMED: 4,
                        GRPC: 5,
                      },
                    },
                    ProtocolConfiguration: {
                      fields: {
                        requestBodyMode: { type: 'BodySendMode', id: 1 },
                        responseBodyMode: { type: 'BodySendMode', id: 2 },
                        sendBodyWithoutWaitingForHeaderResponse: { type: 'bool', id: 3 },
                      },
                    },
                    ProcessingRequest: {
                      oneofs: {
                        request: {
                          oneof: [
                            'requestHeaders',
                            'responseHeaders',
                            'requestBody',
                            'responseBody',
                            'requestTrailers',
                            'responseTrailers',
                          ],
                        },
                      },
                      fields: {
                        requestHeaders: { type: 'HttpHeaders', id: 2 },
                        responseHeaders: { type: 'HttpHeaders', id: 3 },
                        requestBody: { type: 'HttpBody', id: 4 },
                        responseBody: { type: 'HttpBody', id: 5 },
                        requestTrailers: { type: 'HttpTrailers', id: 6 },
                        responseTrailers: { type: 'HttpTrailers', id: 7 },
                        metadataContext: { type: 'envoy.config.core.v3.Metadata', id: 8 },
                        attributes: { keyType: 'string', type: 'google.protobuf.Struct', id: 9 },
                        observabilityMode: { type: 'bool', id: 10 },
                        protocolConfig: { type: 'ProtocolConfiguration', id: 11 },
                      },
                      reserved: [[1, 1]],
                    },
                    ProcessingResponse: {
                      oneofs: {
                        response: {
                          oneof: [
                            'requestHeaders',
                            'responseHeaders',
                            'requestBody',
                            'responseBody',
                            'requestTrailers',
                            'responseTrailers',
                            'immediateResponse',
                          ],
                        },
                      },
                      fields: {
                        requestHeaders: { type: 'HeadersResponse', id: 1 },
                        responseHeaders: { type: 'HeadersResponse', id: 2 },
                        requestBody: { type: 'BodyResponse', id: 3 },
                        responseBody: { type: 'BodyResponse', id: 4 },
                        requestTrailers: { type: 'TrailersResponse', id: 5 },
                        responseTrailers: { type: 'TrailersResponse', id: 6 },
                        immediateResponse: { type: 'ImmediateResponse', id: 7 },
                        dynamicMetadata: { type: 'google.protobuf.Struct', id: 8 },
                        overrideMessageTimeout: { type: 'google.protobuf.Duration', id: 10 },
                      },
                    },
                    HttpHeaders: {
                      fields: {
                        headers: { type: 'envoy.config.core.v3.HeaderMap', id: 1 },
                        endOfStream: { type: 'bool', id: 3 },
                      },
                    },
                    HttpBody: {
                      fields: { body: { type: 'bytes', id: 1 }, endOfStream: { type: 'bool', id: 2 } },
                    },
                    HttpTrailers: { fields: { trailers: { type: 'envoy.config.core.v3.HeaderMap', id: 1 } } },
                    HeadersResponse: { fields: { response: { type: 'CommonResponse', id: 1 } } },
                    BodyResponse: { fields: { response: { type: 'CommonResponse', id: 1 } } },
                    TrailersResponse: { fields: { headerMutation: { type: 'HeaderMutation', id: 1 } } },
                    CommonResponse: {
                      fields: {
                        status: { type: 'ResponseStatus', id: 1 },
                        headerMutation: { type: 'HeaderMutation', id: 2 },
                        bodyMutation: { type: 'BodyMutation', id: 3 },
                        trailers: { type: 'envoy.config.core.v3.HeaderMap', id: 4 },
                        clearRouteCache: { type: 'bool', id: 5 },
                      },
                      nested: { ResponseStatus: { values: { CONTINUE: 0, CONTINUE_AND_REPLACE: 1 } } },
                    },
                    ImmediateResponse: {
                      fields: {
                        status: { type: 'envoy.type.v3.HttpStatus', id: 1 },
                        headers: { type: 'HeaderMutation', id: 2 },
                        body: { type: 'bytes', id: 3 },
                        grpcStatus: { type: 'GrpcStatus', id: 4 },
                        details: { type: 'string', id: 5 },
                      },
                    },
                    GrpcStatus: { fields: { status: { type: 'uint32', id: 1 } } },
                    HeaderMutation: {
                      fields: {
                        setHeaders: {
                          rule: 'repeated',
                          type: 'envoy.config.core.v3.HeaderValueOption',
                          id: 1,
                        },
                        removeHeaders: { rule: 'repeated', type: 'string', id: 2 },
                      },
                    },
                    StreamedBodyResponse: {
                      fields: { body: { type: 'bytes', id: 1 }, endOfStream: { type: 'bool', id: 2 } },
                    },
                    BodyMutation: {
                      oneofs: { mutation: { oneof: ['body', 'clearBody', 'streamedResponse'] } },
                      fields: {
                        body: { type: 'bytes', id: 1 },
                        clearBody: { type: 'bool', id: 2 },
                        streamedResponse: { type: 'StreamedBodyResponse', id: 3 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        config: {
          nested: {
            core: {
              nested: {
                v3: {
                  nested: {
                    Metadata: {
                      fields: {
                        filterMetadata: { keyType: 'string', type: 'google.protobuf.Struct', id: 1 },
                        typedFilterMetadata: { keyType: 'string', type: 'google.protobuf.Any', id: 2 },
                      },
                    },
                    HeaderValue: {
                      fields: {
                        key: { type: 'string', id: 1 },
                        value: { type: 'string', id: 2 },
                        rawValue: { type: 'bytes', id: 3 },
                      },
                    },
                    HeaderValueOption: {
                      fields: {
                        header: { type: 'HeaderValue', id: 1 },
                        append: { type: 'google.protobuf.BoolValue', id: 2 },
                        appendAction: { type: 'HeaderAppendAction', id: 3 },
                        keepEmptyValue: { type: 'bool', id: 4 },
                      },
                      nested: {
                        HeaderAppendAction: {
                          values: {
                            APPEND_IF_EXISTS_OR_ADD: 0,
                            ADD_IF_ABSENT: 1,
                            OVERWRITE_IF_EXISTS_OR_ADD: 2,
                            OVERWRITE_IF_EXISTS: 3,
                          },
                        },
                      },
                    },
                    HeaderMap: { fields: { headers: { rule: 'repeated', type: 'HeaderValue', id: 1 } } },
                  },
                },
              },
            },
          },
        },
        type: {
          nested: {
            v3: {
              nested: {
                StatusCode: {
                  values: {
                    Empty: 0,
                    OK: 200,
                    BadRequest: 400,
                    NotFound: 404,
                    PayloadTooLarge: 413,
                    TooManyRequests: 429,
                    InternalServerError: 500,
                    ServiceUnavailable: 503,
                  },
                },
                HttpStatus: { fields: { code: { type: 'StatusCode', id: 1 } } },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
            Struct: { fields: { fields: { keyType: 'string', type: 'Value', id: 1 } } },
            Value: {
              oneofs: {
                kind: {
                  oneof: ['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'],
                },
              },
              fields: {
                nullValue: { type: 'NullValue', id: 1 },
                numberValue: { type: 'double', id: 2 },
                stringValue: { type: 'string', id: 3 },
                boolValue: { type: 'bool', id: 4 },
                structValue: { type: 'Struct', id: 5 },
                listValue: { type: 'ListValue', id: 6 },
              },
            },
            NullValue: { values: { NULL_VALUE: 0 } },
            ListValue: { fields: { values: { rule: 'repeated', type: 'Value', id: 1 } } },
            Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            DoubleValue: { fields: { value: { type: 'double', id: 1 } } },
            FloatValue: { fields: { value: { type: 'float', id: 1 } } },
            Int64Value: { fields: { value: { type: 'int64', id: 1 } } },
            UInt64Value: { fields: { value: { type: 'uint64', id: 1 } } },
            Int32Value: { fields: { value: { type: 'int32', id: 1 } } },
            UInt32Value: { fields: { value: { type: 'uint32', id: 1 } } },
            BoolValue: { fields: { value: { type: 'bool', id: 1 } } },
            StringValue: { fields: { value: { type: 'string', id: 1 } } },
            BytesValue: { fields: { value: { type: 'bytes', id: 1 } } },
          },
        },
      },
    },
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: {
                    ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } },
                  },
                },
                HealthListRequest: { fields: {} },
                HealthListResponse: {
                  fields: { statuses: { keyType: 'string', type: 'HealthCheckResponse', id: 1 } },
                },
                Health: {
                  methods: {
                    Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
                    Watch: {
                      requestType: 'HealthCheckRequest',
                      responseType: 'HealthCheckResponse',
                      responseStream: true,
                    },
                    List: { requestType: 'HealthListRequest', responseType: 'HealthListResponse' },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
